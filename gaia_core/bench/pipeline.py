"""The input pipeline at ImageNet scale: JPEG decode + resize + centre crop + normalize, per worker.

On a GPU the model scores hundreds of images a second; whether the data loader keeps up is a
matter of images per second per worker process times the workers. Measured on a synthetic folder
of JPEGs (smooth random pictures, ImageNet's typical 500x375, quality 90), nothing downloaded:
- PIL: what gaia_core's image sets do (``PIL.Image.open``, torchvision's resize / crop / to-tensor /
  normalize, as a pretrained model's eval transform);
- torchvision.io: ``decode_jpeg`` on the file's bytes, then the same steps on uint8 tensors
  (deprecated since torchvision 0.29 in favour of TorchCodec: measured, not adopted).
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.transforms import v2

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def write_jpegs(folder: Path, count: int = 200, size: tuple[int, int] = (500, 375), seed: int = 0) -> list[Path]:
    """``count`` JPEGs of ``size`` (width, height): low-frequency colour noise, upscaled (photo-like)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(count):
        small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        picture = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
        path = folder / f"{k:04d}.jpg"
        picture.save(path, quality=90)
        paths.append(path)
    return paths


def pil_pipeline(resize: int, crop: int) -> Callable[[Path], torch.Tensor]:
    """Path -> (3, crop, crop) normalized float tensor, through PIL."""
    transform = torchvision.transforms.Compose(
        [
            torchvision.transforms.Resize(resize),
            torchvision.transforms.CenterCrop(crop),
            torchvision.transforms.ToTensor(),
            torchvision.transforms.Normalize(MEAN, STD),
        ]
    )

    def run(path: Path) -> torch.Tensor:
        with Image.open(path) as picture:
            return transform(picture.convert("RGB"))

    return run


def tensor_pipeline(resize: int, crop: int) -> Callable[[Path], torch.Tensor]:
    """Path -> (3, crop, crop) normalized float tensor, through ``torchvision.io.decode_jpeg``."""
    transform = v2.Compose(
        [
            v2.Resize(resize, antialias=True),
            v2.CenterCrop(crop),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )

    def run(path: Path) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            data = torchvision.io.read_file(str(path))
            image = torchvision.io.decode_jpeg(data, mode=torchvision.io.ImageReadMode.RGB)
        return transform(image)

    return run


@dataclass(frozen=True)
class PipelineRow:
    """Images per second of one decoder at one resolution, in one worker (one thread)."""

    decoder: str
    # The model input it makes: "256 -> 224" (shorter side resized, then centre-cropped).
    resolution: str
    images_per_s: float


def per_worker_rates(paths: list[Path], repeats: int = 3) -> list[PipelineRow]:
    """Both decoders at ResNet's 224 and BiT's 480, median over ``repeats`` round-robin passes, with
    one torch thread (a DataLoader worker's setting)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runs = {
            (name, f"{resize} -> {crop}"): build(resize, crop)
            for resize, crop in ((256, 224), (480, 480))
            for name, build in (("PIL", pil_pipeline), ("torchvision.io", tensor_pipeline))
        }
        times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
        for fn in runs.values():
            fn(paths[0])
        for _ in range(repeats):
            for key, fn in runs.items():
                start = time.perf_counter()
                for path in paths:
                    fn(path)
                times[key].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return [PipelineRow(name, res, len(paths) / statistics.median(t)) for (name, res), t in times.items()]


def workers_needed(scoring_images_per_s: float, per_worker_images_per_s: float) -> int:
    """Worker processes the loader needs to deliver at least the scoring rate."""
    return max(1, int(np.ceil(scoring_images_per_s / per_worker_images_per_s)))


def format_pipeline(rows: list[PipelineRow], scoring: dict[str, float]) -> str:
    """The per-worker rates, and for each scoring rate (label -> images/s) the workers it needs."""
    lines = [
        "input pipeline, per worker (1 thread; decode + resize + centre crop + normalize, 500x375 JPEGs):",
        f"{'decoder':16} {'resize -> crop':15} {'img/s':>8}",
    ]
    lines += [f"{r.decoder:16} {r.resolution:15} {r.images_per_s:8.1f}" for r in rows]
    pil_224 = next(r.images_per_s for r in rows if r.decoder == "PIL" and r.resolution.endswith("224"))
    for label, rate in scoring.items():
        lines.append(f"{label}: {rate:.1f} img/s needs {workers_needed(rate, pil_224)} PIL worker(s) at 224 to keep up")
    return "\n".join(lines)
