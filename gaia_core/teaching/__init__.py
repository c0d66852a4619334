"""Teaching tools: perturbations that push an image from in-distribution to OOD, a sweep that
scores them (`sweep`), the stories of the How GAIA works page (`story`), drawings and pictures
turned into model inputs (`drawing`, `images`)."""

from gaia_core.teaching.perturbations import PERTURBATIONS, Perturbation, apply, perturbation_names

__all__ = ["PERTURBATIONS", "Perturbation", "apply", "perturbation_names"]
