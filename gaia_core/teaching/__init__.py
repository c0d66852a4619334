"""Teaching tools: perturbations that push an image from in-distribution to OOD, and a sweep that scores them."""

from gaia_core.teaching.perturbations import PERTURBATIONS, Perturbation, apply, perturbation_names

__all__ = ["PERTURBATIONS", "Perturbation", "apply", "perturbation_names"]
