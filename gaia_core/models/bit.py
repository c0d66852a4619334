"""BiT-S-R101x1: the pre-activation ResNetV2 (weight-standardised convs, GroupNorm(32)) that the GAIA
paper evaluates on ImageNet-1k, loaded from Google's Big Transfer ``.npz`` files or from a PyTorch
checkpoint in Google's PyTorch port's key names: the authors' ``BiT-S-R101x1-flat-finetune.pth.tar``
(GradNorm's layout: {"model": state dict with ``module.`` prefixes, ``before_head.gn``, ``head.conv``}).

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

import math
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.models.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    CheckpointError,
    checked_size,
    load_state_dict_into,
    read_state_dict,
)
from gaia_core.models.checkpoint_bounds import check_total, limits_for, npy_header, zip_records

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


def read_bit_checkpoint(path: str | Path, model: ResNetV2) -> dict[str, Tensor]:
    """BiT weights for ``model`` in this module's key names, from any accepted file.

    Google's ``.npz`` (a zip of ``.npy`` records) is read by `read_bit_npz`; anything else by
    `gaia_core.models.checkpoint.read_state_dict` (weights-only, bounded by ``model``'s size), with
    Google's PyTorch names (``head.gn`` / GradNorm's ``before_head.gn``, and the 1x1 conv
    ``head.conv``) renamed to this module's ``head.gn`` and ``fc``.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz" or _holds_npy(path):
        return read_bit_npz(path, model)
    state = read_state_dict(path, model=model, rename=_our_name)
    weight = state.get("fc.weight")
    if weight is not None and weight.dim() == 4 and weight.shape[2:] == (1, 1):
        state["fc.weight"] = weight.flatten(1)  # the 1x1 conv's (K, C, 1, 1) kernel is the linear map's (K, C)
    return state


def _holds_npy(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    return any(n.endswith(".npy") for n in names) and not any(n.endswith("data.pkl") for n in names)


def _our_name(key: str) -> str:
    """Google's PyTorch BiT names (``head.gn``, GradNorm's ``before_head.gn``, ``head.conv``) -> ours."""
    if key.startswith("before_head."):
        return "head." + key.removeprefix("before_head.")
    if key.startswith("head.conv."):
        return "fc." + key.removeprefix("head.conv.")
    return key


def read_bit_npz(path: str | Path, model: ResNetV2) -> dict[str, Tensor]:
    """Google's BiT ``.npz`` weights for ``model``, in this module's key names.

    Every record's ``.npy`` header is checked first (plain numbers, no more than its record holds);
    then only the records the model needs are read, once each has as many elements as the model's
    tensor and all together declare at most the model's own size with a margin
    (`gaia_core.models.checkpoint_bounds`).
    """
    path = Path(path)
    checked_size(path, MAX_CHECKPOINT_BYTES)
    limits = limits_for(model, MAX_CHECKPOINT_BYTES)
    records = zip_records(path, limits, path.name)
    names = _npz_names(model)
    like = model.state_dict()
    state = {}
    try:
        with zipfile.ZipFile(path) as archive:
            headers = {}
            for name, record in records.items():
                if name.endswith(".npy"):
                    with archive.open(record) as stream:
                        headers[name.removesuffix(".npy")] = npy_header(stream, record.file_size, path.name, name)
            missing = [theirs for theirs in names.values() if theirs not in headers]
            if missing:
                raise CheckpointError(
                    f"{path.name} lacks {len(missing)} BiT weights (e.g. {', '.join(missing[:3])}): "
                    "is it a BiT-S-R101x1 .npz from Google's Big Transfer release?"
                )
            for ours, theirs in names.items():
                if math.prod(headers[theirs].shape) != like[ours].numel():
                    raise CheckpointError(
                        f"{path.name}: BiT weight {theirs} has shape {headers[theirs].shape}, which does not fit "
                        f"{tuple(like[ours].shape)}: a BiT of another size or class count?"
                    )
            check_total(sum(headers[theirs].nbytes for theirs in names.values()), limits, path.name)
            for ours, theirs in names.items():
                with archive.open(records[f"{theirs}.npy"]) as stream:
                    array = np.lib.format.read_array(stream, allow_pickle=False)
                state[ours] = _to_torch(array, like[ours])
    except CheckpointError:
        raise
    except Exception as err:  # a hostile record fails zlib or numpy in many ways once its header passed
        raise CheckpointError(f"{path.name} is not a readable BiT .npz file ({type(err).__name__}: {err})") from None
    return state


def load_bit_npz(model: ResNetV2, path: str | Path) -> ResNetV2:
    """Copy Google's BiT ``.npz`` weights into ``model`` (read by numpy with pickles refused)."""
    load_state_dict_into(model, read_bit_npz(path, model), Path(path).name)
    return model


def load_bit_checkpoint(model: ResNetV2, path: str | Path) -> ResNetV2:
    """Copy BiT weights from any accepted file (`read_bit_checkpoint`) into ``model``."""
    load_state_dict_into(model, read_bit_checkpoint(path, model), Path(path).name)
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
