"""BiT-S-R101x1: the pre-activation ResNetV2 (weight-standardised convs, GroupNorm(32)) that the GAIA
paper evaluates on ImageNet-1k, loaded from Google's Big Transfer ``.npz`` files.

The layout follows Google's own PyTorch port of BiT: ``root.conv``, ``body.block1.unit01.gn1`` /
``conv1`` / ``gn2`` / ``conv2`` / ``gn3`` / ``conv3`` / ``downsample``, ``head.gn``. Each GroupNorm is its
own module and the ReLU after it is separate, so GAIA taps a normalization's output before the
activation (as the paper defines it). The 1x1-conv classifier of the ``.npz`` is held as ``fc``, an
``nn.Linear`` (the same map on the pooled features), so ReAct and GradNorm find their head.

GAIA taps as the authors use them on this model: the GroupNorms of the last block (``body.block4``)
for GAIA-Z and for GAIA-A's inner layers; GAIA-A's F = the pooled output of ``head`` (GroupNorm,
ReLU, global average pool: the authors' ``before_head``), (B, 2048, 1, 1). The spatial map the pool
reads is ``head.relu`` (Grad-CAM's layer). On Textures the authors' GAIA-Z also taps ``head.gn``:
`gaia_core.evaluation.paper` carries that per-set switch.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.models.checkpoint import CheckpointError

R101_UNITS = (3, 4, 23, 3)


class StdConv2d(nn.Conv2d):
    """Conv2d whose kernel is standardised per output channel (zero mean, unit variance) at every call."""

    def forward(self, x: Tensor) -> Tensor:
        var, mean = torch.var_mean(self.weight, dim=(1, 2, 3), keepdim=True, unbiased=False)
        weight = (self.weight - mean) / torch.sqrt(var + 1e-10)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class PreActBottleneck(nn.Module):
    """GN-ReLU-conv1x1, GN-ReLU-conv3x3(stride), GN-ReLU-conv1x1, plus the input (projected when needed)."""

    def __init__(self, cin: int, cout: int, cmid: int, stride: int = 1):
        super().__init__()
        self.gn1 = nn.GroupNorm(32, cin)
        self.conv1 = StdConv2d(cin, cmid, 1, bias=False)
        self.gn2 = nn.GroupNorm(32, cmid)
        self.conv2 = StdConv2d(cmid, cmid, 3, stride, 1, bias=False)
        self.gn3 = nn.GroupNorm(32, cmid)
        self.conv3 = StdConv2d(cmid, cout, 1, bias=False)
        self.relu = nn.ReLU()
        self.downsample = StdConv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.gn1(x))
        residual = x if self.downsample is None else self.downsample(out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.gn2(out)))
        out = self.conv3(self.relu(self.gn3(out)))
        return out + residual


class ResNetV2(nn.Module):
    """(B, 3, H, W) -> (B, num_classes) logits."""

    # GAIA-A's F as the authors hook it: the pooled output (their ``before_head``), (B, C, 1, 1).
    gaia_feature_layer = "head"
    # The last spatial feature map, the input of the global pool (B, C, H, W).
    feature_map_layer = "head.relu"

    def __init__(self, block_units=R101_UNITS, width_factor: int = 1, num_classes: int = 1000):
        super().__init__()
        wf = width_factor
        self.root = nn.Sequential(
            OrderedDict(
                conv=StdConv2d(3, 64 * wf, 7, 2, 3, bias=False),
                pad=nn.ConstantPad2d(1, 0.0),
                pool=nn.MaxPool2d(3, 2),
            )
        )
        stages = []
        cin = 64 * wf
        for index, units in enumerate(block_units):
            cmid = 64 * wf * 2**index
            blocks = [(f"unit{u:02d}", None) for u in range(1, units + 1)]
            blocks[0] = ("unit01", PreActBottleneck(cin, cmid * 4, cmid, 1 if index == 0 else 2))
            blocks[1:] = [(name, PreActBottleneck(cmid * 4, cmid * 4, cmid)) for name, _ in blocks[1:]]
            stages.append((f"block{index + 1}", nn.Sequential(OrderedDict(blocks))))
            cin = cmid * 4
        self.body = nn.Sequential(OrderedDict(stages))
        self.head = nn.Sequential(OrderedDict(gn=nn.GroupNorm(32, cin), relu=nn.ReLU(), avg=nn.AdaptiveAvgPool2d(1)))
        self.fc = nn.Linear(cin, num_classes)

    @property
    def gaia_inner_layers(self) -> list[str]:
        """The GroupNorms of the last block (``body.block4``): the authors' taps for both scores."""
        last = list(self.body.named_children())[-1][0]
        return [f"body.{last}.{n}" for n, m in self.body[-1].named_modules() if isinstance(m, nn.GroupNorm)]

    @property
    def gaia_z_layers(self) -> list[str]:
        """GAIA-Z's taps in the authors' setting: the same GroupNorms of ``body.block4``."""
        return self.gaia_inner_layers

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.head(self.body(self.root(x))).flatten(1))


def bit_s_r101x1(num_classes: int = 1000) -> ResNetV2:
    return ResNetV2(R101_UNITS, 1, num_classes)


def _npz_names(model: ResNetV2) -> dict[str, str]:
    """state_dict key -> Google's ``.npz`` key."""
    names = {
        "root.conv.weight": "resnet/root_block/standardized_conv2d/kernel",
        "head.gn.weight": "resnet/group_norm/gamma",
        "head.gn.bias": "resnet/group_norm/beta",
        "fc.weight": "resnet/head/conv2d/kernel",
        "fc.bias": "resnet/head/conv2d/bias",
    }
    for block_name, block in model.body.named_children():
        for unit_name in dict(block.named_children()):
            ours, theirs = f"body.{block_name}.{unit_name}", f"resnet/{block_name}/{unit_name}"
            for index, part in enumerate("abc", start=1):
                names[f"{ours}.conv{index}.weight"] = f"{theirs}/{part}/standardized_conv2d/kernel"
                names[f"{ours}.gn{index}.weight"] = f"{theirs}/{part}/group_norm/gamma"
                names[f"{ours}.gn{index}.bias"] = f"{theirs}/{part}/group_norm/beta"
            if block[int(unit_name[4:]) - 1].downsample is not None:
                names[f"{ours}.downsample.weight"] = f"{theirs}/a/proj/standardized_conv2d/kernel"
    return names


def _to_torch(array: np.ndarray, like: Tensor) -> Tensor:
    if array.ndim == 4:  # HWIO -> OIHW
        array = array.transpose(3, 2, 0, 1)
    array = array.reshape(like.shape) if array.size == like.numel() else array
    if array.shape != tuple(like.shape):
        raise CheckpointError(f"BiT weights: shape {array.shape} does not fit {tuple(like.shape)}")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def load_bit_npz(model: ResNetV2, path: str | Path) -> ResNetV2:
    """Copy Google's BiT ``.npz`` weights into ``model`` (read by numpy with pickles refused)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{Path(path).name} is not a readable BiT .npz file ({err})") from None
    names = _npz_names(model)
    missing = [theirs for theirs in names.values() if theirs not in arrays]
    if missing:
        raise CheckpointError(
            f"{Path(path).name} lacks {len(missing)} BiT weights (e.g. {', '.join(missing[:3])}): "
            "is it a BiT-S-R101x1 .npz from Google's Big Transfer release?"
        )
    state = model.state_dict()
    with torch.no_grad():
        for ours, theirs in names.items():
            state[ours].copy_(_to_torch(arrays[theirs], state[ours]))
    return model


def save_bit_npz(model: ResNetV2, path: str | Path) -> None:
    """Write ``model``'s weights under Google's ``.npz`` key names and layouts (for tests and exports)."""
    state = model.state_dict()
    arrays = {}
    for ours, theirs in _npz_names(model).items():
        value = state[ours].detach().cpu().numpy()
        if ours == "fc.weight":
            value = value.T[None, None]  # (K, C) -> HWIO (1, 1, C, K)
        elif value.ndim == 4:
            value = value.transpose(2, 3, 1, 0)
        arrays[theirs] = value
    np.savez(path, **arrays)
