"""The preprocessing a model expects, where it was stated (or that it was assumed), and how to say it.

A checkpoint can state its preprocessing in three places, read in this order by
`read_input_config`:

1. a sidecar JSON file next to it, named ``<checkpoint stem>.json`` (``r18.safetensors`` ->
   ``r18.json``)::

       {"input_size": 32,            # height = width of the model's input (or [C, H, W], timm style)
        "resize_size": 32,           # shorter side before the centre crop ("resize" rule); default input_size
        "crop": "resize",            # "resize" | "center" | "squash" (see CROP_RULES); default "resize"
        "mean": [0.4914, 0.4822, 0.4465],
        "std": [0.2023, 0.1994, 0.2010],
        "channels": 3,               # 1 grey, 3 RGB; default len(mean)
        "interpolation": "bilinear", # torchvision's InterpolationMode values; default "bilinear"
        "classes": ["airplane", ...]}  # class names by index (read by gaia_core.data.class_names)

   ``input_size``, ``mean`` and ``std`` are required once any preprocessing key is present;
   unknown keys are ignored (a JSON without any of these keys states nothing);
2. the safetensors header's ``__metadata__`` (the same keys, each value JSON-encoded:
   ``{"input_size": "32", "mean": "[0.5, 0.5, 0.5]", "crop": "\\"resize\\""}``; a bare string such
   as ``bilinear`` is accepted too). Only the header is read, at most 100 MB of it;
3. a timm-style ``pretrained_cfg`` dict on the model (input_size, crop_pct, crop_mode, mean,
   std, interpolation).

Nothing stated: `input_config_of` describes what a spec would use and whether that is stated
(a named preset with its own weights) or assumed (someone else's checkpoint, a factory).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn
from torchvision import transforms as T

from gaia_core.data.transforms import ConvertMode
from gaia_core.errors import GaiaError
from gaia_core.models.registry import ModelSpec, available_models

# How an image is cut to the input size.
CROP_RULES = {
    "resize": "shorter side resized to the resize size, then a centre crop of the input size",
    "center": "centre crop of the input size at full resolution, no resizing (padded with zeros when smaller)",
    "squash": "both sides resized to the input size (the aspect ratio is not kept)",
}
INTERPOLATIONS = tuple(mode.value for mode in T.InterpolationMode)
PREPROCESSING_KEYS = ("input_size", "resize_size", "crop", "mean", "std", "channels", "interpolation")
MAX_SIZE = 4096
# Largest safetensors header read for its metadata, and largest sidecar read.
MAX_HEADER_BYTES = 100 * 2**20
MAX_SIDECAR_BYTES = 10 * 2**20
# Source of a spec's preprocessing when nothing states it, by model family.
_ASSUMED = {"imagenet": "assumed: ImageNet's", "cifar": "assumed: CIFAR's", "demo": "assumed: the demo's"}


class InputConfigError(GaiaError, ValueError):
    """Preprocessing that cannot be used (out of range, inconsistent, unreadable); the message says why."""


@dataclass(frozen=True)
class InputConfig:
    """What a model's input is made of, and where that was learnt."""

    # Height = width of the model's input, in pixels.
    input_size: int
    # Shorter side before the centre crop (the "resize" rule only; = input_size otherwise).
    resize_size: int
    # "resize", "center" or "squash" (see CROP_RULES).
    crop: str
    # Per-channel normalization, on the 0-1 scale: one value per channel.
    mean: tuple[float, ...]
    std: tuple[float, ...]
    # 1 (grey) or 3 (RGB).
    channels: int
    # Resampling of the resize: one of torchvision's InterpolationMode values.
    interpolation: str
    # Where it came from: "checkpoint metadata", "sidecar <name>.json", "timm pretrained_cfg",
    # "preset <name>", "entered by you" or "assumed: ImageNet's" (any "assumed: ..." when not stated).
    source: str
    # True when the model's provider stated it (or the user entered it); False when assumed.
    stated: bool

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
            object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        except (TypeError, ValueError):
            raise InputConfigError(f"preprocessing from {self.source}: mean and std must be lists of numbers") from None
        problems = _problems(self)
        if problems:
            raise InputConfigError(
                f"preprocessing from {self.source or 'nowhere'} does not work: {'; '.join(problems)}."
            )

    def to_json(self) -> str:
        """The config as a JSON object (every field), for saving it with the model choice."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> InputConfig:
        """The config `to_json` wrote (validated again)."""
        try:
            document = json.loads(text)
        except ValueError as err:
            raise InputConfigError(f"saved preprocessing is not JSON: {err}") from None
        if not isinstance(document, dict):
            raise InputConfigError("saved preprocessing is not a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(names - document.keys())
        if missing:
            raise InputConfigError(f"saved preprocessing lacks {', '.join(missing)}")
        return cls(**{k: document[k] for k in names})


def _problems(config: InputConfig) -> list[str]:
    problems = []
    for field in ("input_size", "resize_size", "channels"):
        value = getattr(config, field)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{field} must be a whole number, got {value!r}")
    if problems:
        return problems
    for field in ("input_size", "resize_size"):
        if not 1 <= getattr(config, field) <= MAX_SIZE:
            problems.append(f"{field} must be between 1 and {MAX_SIZE} pixels, got {getattr(config, field)}")
    if config.crop not in CROP_RULES:
        problems.append(f"crop must be one of {', '.join(CROP_RULES)}, got {config.crop!r}")
    elif config.crop == "resize" and config.resize_size < config.input_size:
        problems.append(
            f"resize_size {config.resize_size} is smaller than input_size {config.input_size}: "
            "the centre crop would be padded"
        )
    if config.channels not in (1, 3):
        problems.append(f"channels must be 1 (grey) or 3 (RGB), got {config.channels}")
    elif len(config.mean) != config.channels or len(config.std) != config.channels:
        problems.append(
            f"{config.channels} channel(s) need {config.channels} mean and std values, "
            f"got {len(config.mean)} and {len(config.std)}"
        )
    values = (*config.mean, *config.std)
    if any(not math.isfinite(v) for v in values):
        problems.append("mean and std must be finite numbers")
    elif any(s <= 0 for s in config.std):
        problems.append(f"std must be above 0, got {config.std}")
    elif any(v > 1 for v in values) or any(m < 0 for m in config.mean):
        problems.append("mean and std are on the 0-1 scale (values over 1 look like 0-255: divide them by 255)")
    if config.interpolation not in INTERPOLATIONS:
        problems.append(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {config.interpolation!r}")
    if not config.source.strip():
        problems.append("its source must be named")
    elif config.source.startswith("assumed") == config.stated:
        problems.append("a source starting with 'assumed' is exactly one that is not stated")
    return problems


def config_from_mapping(values: Mapping[str, Any], source: str, stated: bool = True) -> InputConfig | None:
    """The config a sidecar or metadata mapping states; None when it has no preprocessing key.

    Args:
        values: keys of the sidecar schema (see the module docstring); others are ignored.
        source: where the mapping came from ("sidecar r18.json", ...).
    """
    if not any(k in values for k in PREPROCESSING_KEYS):
        return None
    missing = [k for k in ("input_size", "mean", "std") if k not in values]
    if missing:
        raise InputConfigError(f"{source} states preprocessing but lacks {', '.join(missing)}")
    mean, std = _numbers(values["mean"], "mean", source), _numbers(values["std"], "std", source)
    size = values["input_size"]
    channels = values.get("channels", len(mean))
    if isinstance(size, (list, tuple)):
        if len(size) != 3 or size[1] != size[2]:
            raise InputConfigError(f"{source}: input_size {list(size)} must be one number or a square [C, H, W]")
        channels = values.get("channels", size[0])
        size = size[-1]
    return InputConfig(
        input_size=_whole(size, "input_size", source),
        resize_size=_whole(values.get("resize_size", size), "resize_size", source),
        crop=str(values.get("crop", "resize")),
        mean=mean,
        std=std,
        channels=_whole(channels, "channels", source),
        interpolation=str(values.get("interpolation", "bilinear")),
        source=source,
        stated=stated,
    )


def _numbers(value: Any, field: str, source: str) -> tuple[float, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value):
        return tuple(float(v) for v in value)
    raise InputConfigError(f"{source}: {field} must be a list of numbers, got {value!r}")


def _whole(value: Any, field: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise InputConfigError(f"{source}: {field} must be a whole number, got {value!r}")
    return int(value)


def sidecar_path(checkpoint_path: str | Path) -> Path:
    """``<checkpoint stem>.json`` next to the checkpoint."""
    return Path(checkpoint_path).with_suffix(".json")


def read_sidecar(checkpoint_path: str | Path) -> dict | None:
    """The sidecar JSON object next to a checkpoint; None when there is none."""
    path = sidecar_path(checkpoint_path)
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_SIDECAR_BYTES:
        raise InputConfigError(f"sidecar {path.name} is over {MAX_SIDECAR_BYTES // 2**20} MB")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputConfigError(f"sidecar {path.name} is not readable JSON: {err}") from None
    if not isinstance(document, dict):
        raise InputConfigError(f"sidecar {path.name} must hold a JSON object")
    return document


def read_safetensors_metadata(path: str | Path) -> dict[str, Any] | None:
    """The decoded ``__metadata__`` of a safetensors file (values JSON-decoded where they are
    JSON); None for other files or a header without metadata. Only the header is read."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(9)
        if len(head) < 9 or head[8:9] != b"{":
            return None
        length = int.from_bytes(head[:8], "little")
        if length > MAX_HEADER_BYTES:
            raise InputConfigError(
                f"{path.name}: its safetensors header is {length / 2**20:.0f} MB, over the "
                f"{MAX_HEADER_BYTES // 2**20} MB read for metadata"
            )
        f.seek(8)
        raw = f.read(length)
    if len(raw) != length:
        raise InputConfigError(f"{path.name}: its safetensors header is cut short")
    try:
        header = json.loads(raw)
    except ValueError as err:
        raise InputConfigError(f"{path.name}: its safetensors header is not JSON ({err})") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict):
        return None
    return {str(k): _decoded(v) for k, v in metadata.items()}


def _decoded(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def config_from_pretrained_cfg(cfg: Mapping[str, Any], source: str = "timm pretrained_cfg") -> InputConfig:
    """A timm ``pretrained_cfg`` as an input config: resize to floor(size / crop_pct) then centre
    crop ("center" crop_mode), or "squash"."""
    size = cfg.get("input_size", (3, 224, 224))
    if len(size) != 3 or size[1] != size[2]:
        raise InputConfigError(f"{source}: input_size {tuple(size)} is not a square (C, H, W)")
    mode = cfg.get("crop_mode", "center") or "center"
    if mode not in ("center", "squash"):
        raise InputConfigError(f"{source}: crop_mode '{mode}' is not supported; enter the preprocessing by hand")
    crop_pct = float(cfg.get("crop_pct") or 0.875)
    side = int(size[-1])
    return InputConfig(
        input_size=side,
        resize_size=math.floor(side / crop_pct) if mode == "center" else side,
        crop="resize" if mode == "center" else "squash",
        mean=tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
        std=tuple(cfg.get("std", (0.229, 0.224, 0.225))),
        channels=int(size[0]),
        interpolation=str(cfg.get("interpolation") or "bilinear"),
        source=source,
        stated=True,
    )


def read_input_config(checkpoint_path: str | Path | None, model: nn.Module | None = None) -> InputConfig | None:
    """The preprocessing a checkpoint (or its model) states; None when nothing states it.

    Read in order: the sidecar ``<stem>.json``, the safetensors ``__metadata__``, the model's
    timm-style ``pretrained_cfg`` (see the module docstring).

    Raises:
        InputConfigError: a source states preprocessing that is unreadable or does not work.
    """
    if checkpoint_path is not None:
        sidecar = read_sidecar(checkpoint_path)
        if sidecar is not None:
            stated = config_from_mapping(sidecar, f"sidecar {sidecar_path(checkpoint_path).name}")
            if stated is not None:
                return stated
        if Path(checkpoint_path).is_file():
            metadata = read_safetensors_metadata(checkpoint_path)
            if metadata is not None:
                stated = config_from_mapping(metadata, "checkpoint metadata")
                if stated is not None:
                    return stated
    cfg = getattr(model, "pretrained_cfg", None) if model is not None else None
    if cfg is not None and not isinstance(cfg, Mapping) and hasattr(cfg, "to_dict"):
        cfg = cfg.to_dict()
    if isinstance(cfg, Mapping) and cfg.get("input_size"):
        return config_from_pretrained_cfg(cfg)
    return None


def input_config_of(spec: ModelSpec, *, own_weights: bool = True, crop: str = "resize") -> InputConfig:
    """What ``spec`` preprocesses with today, and whether that is stated.

    Args:
        spec: the model's spec.
        own_weights: the weights are the preset's own (the demo's, the pretrained ones, the
            authors' checkpoints); False for someone else's checkpoint, whose preprocessing
            the preset only assumes.
        crop: the crop rule in use (a benchmark's ``Preset.crop``; "resize" otherwise).
    """
    registered = spec.name in available_models()
    if own_weights and registered:
        source, stated = f"preset {spec.name}", True
    elif own_weights and spec.name.startswith("timm:"):
        source, stated = "timm pretrained_cfg", True
    else:
        source, stated = _ASSUMED.get(spec.family, f"assumed: preset {spec.name}'s"), False
    return InputConfig(
        input_size=spec.input_size,
        resize_size=max(spec.resize_size, spec.input_size),
        crop=crop,
        mean=spec.mean,
        std=spec.std,
        channels=spec.in_channels,
        interpolation=spec.interpolation,
        source=source,
        stated=stated,
    )


def with_input_config(spec: ModelSpec, config: InputConfig) -> ModelSpec:
    """``spec`` with its input fields (channels, sizes, mean, std, interpolation) taken from
    ``config``. The crop rule stays in the config: build image transforms with `config_transform`."""
    return dataclasses.replace(
        spec,
        in_channels=config.channels,
        input_size=config.input_size,
        resize_size=config.resize_size,
        mean=config.mean,
        std=config.std,
        interpolation=config.interpolation,
    )


def config_transform(config: InputConfig) -> T.Compose:
    """PIL image -> model input (channels, input_size, input_size) float32, exactly as ``config`` says."""
    interpolation = T.InterpolationMode(config.interpolation)
    size = config.input_size
    cut = {
        "resize": [T.Resize(config.resize_size, interpolation=interpolation, antialias=True), T.CenterCrop(size)],
        "center": [T.CenterCrop(size)],
        "squash": [T.Resize((size, size), interpolation=interpolation, antialias=True)],
    }[config.crop]
    return T.Compose(
        [ConvertMode("L" if config.channels == 1 else "RGB"), *cut, T.ToTensor(), T.Normalize(config.mean, config.std)]
    )


def entered(
    input_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    resize_size: int | None = None,
    crop: str = "resize",
    channels: int | None = None,
    interpolation: str = "bilinear",
) -> InputConfig:
    """A config the user typed in (source "entered by you")."""
    return InputConfig(
        input_size=input_size,
        resize_size=input_size if resize_size is None else resize_size,
        crop=crop,
        mean=tuple(mean),
        std=tuple(std),
        channels=len(mean) if channels is None else channels,
        interpolation=interpolation,
        source="entered by you",
        stated=True,
    )


def describe(config: InputConfig) -> str:
    """One line for every page: "32×32, shorter side to 32 then centre crop, mean (0.4914, 0.4822,
    0.4465) std (0.2023, 0.1994, 0.201), RGB — stated in sidecar r18.json"."""
    size = f"{config.input_size}×{config.input_size}"
    how = "" if config.interpolation == "bilinear" else f" ({config.interpolation})"
    cut = {
        "resize": f"shorter side to {config.resize_size}{how} then centre crop",
        "center": "centre crop at full resolution (no resize)",
        "squash": f"squashed to {size}{how} (aspect ratio not kept)",
    }[config.crop]
    numbers = f"mean {_tuple(config.mean)} std {_tuple(config.std)}"
    colour = "RGB" if config.channels == 3 else "grey"
    if not config.stated or config.source == "entered by you":
        where = config.source
    elif config.source.startswith("preset "):
        where = f"stated by {config.source}"
    else:
        where = f"stated in {config.source}"
    return f"{size}, {cut}, {numbers}, {colour} — {where}"


def _tuple(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"
