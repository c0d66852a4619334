"""Defences for what users hand the app: uploaded images and typed paths.

Checkpoints are read safely by `gaia_core.models.checkpoint` (safetensors or weights-only).
"""

from gaia_core.safety.images import ImageLimits, ImageRejected, LoadedImage, load_image, load_images
from gaia_core.safety.paths import PathNotAllowed, allowed_roots, resolve_allowed

__all__ = [
    "ImageLimits",
    "ImageRejected",
    "LoadedImage",
    "PathNotAllowed",
    "allowed_roots",
    "load_image",
    "load_images",
    "resolve_allowed",
]
