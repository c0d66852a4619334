"""The embedded demo world: a small ResNet trained on scikit-learn's digits, plus OOD sets.

Everything here works offline on a fresh machine: the weights ship in ``assets/`` (the package data ``gaia_core.assets``) and the
datasets come from scikit-learn's bundled files or fixed-seed generators.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from gaia_core.demo.model import DemoResNet, build_demo_model
from gaia_core.errors import GaiaError

# The repository's assets/ folder, installed as the package gaia_core.assets (see pyproject.toml).
ASSETS_DIR = Path(str(files("gaia_core.assets")))
# Trained weights written by `python -m gaia_core.demo.train`; the .json beside them
# records test accuracy, seed, epochs, train time and sha256.
DEMO_WEIGHTS = ASSETS_DIR / "demo_resnet.safetensors"
DEMO_REPORT = DEMO_WEIGHTS.with_suffix(".json")
DEMO_SAMPLES_DIR = ASSETS_DIR / "samples"


class DemoWeightsError(GaiaError, FileNotFoundError):
    """The shipped demo weights are missing."""


__all__ = [
    "ASSETS_DIR",
    "DEMO_REPORT",
    "DEMO_SAMPLES_DIR",
    "DEMO_WEIGHTS",
    "DemoResNet",
    "DemoWeightsError",
    "build_demo_model",
]
