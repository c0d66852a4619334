"""Sentences of the walk-through, computed from the two images' numbers so they stay true.

Each comparison is returned as structured facts (which image, by how much) and one sentence
built from those facts; tests check the facts against the numbers, pages show the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gaia_core.evaluation.twins import SAME_GRADIENT_TOLERANCE


@dataclass(frozen=True)
class LayerFacts:
    """How two images compare at one layer of GAIA-Z (r_c = non-zero fraction per channel).

    Attributes:
        more_zeros: name of the image whose gradient has more zeros (lower mean r_c); None when equal.
        mean_nonzero: image name -> mean r_c over the layer's channels.
        wider_spread: name of the image whose r_c has the larger standard deviation; None when equal.
        spread: image name -> standard deviation of r_c.
        layer_score: image name -> mean of r_c² over the layer (its share of GAIA-Z).
        dominant_channels: image name -> the channels that make up half of the image's sum of r_c²,
            largest first.
        higher_layer_score: name of the image with the higher mean r_c² at this layer.
        higher_final_score: name of the image with the higher final GAIA-Z.
        agrees_with_final: whether this layer ranks the two images as the final score does.
        all_ones: whether r_c is 1 in every channel for both images (the layer cannot tell them apart).
        text: the sentences, built from the facts above.
    """

    more_zeros: str | None
    mean_nonzero: dict[str, float]
    wider_spread: str | None
    spread: dict[str, float]
    layer_score: dict[str, float]
    dominant_channels: dict[str, list[int]]
    higher_layer_score: str | None
    higher_final_score: str | None
    agrees_with_final: bool
    all_ones: bool
    text: str


def _larger(values: Mapping[str, float]) -> str | None:
    (a, va), (b, vb) = values.items()
    if np.isclose(va, vb, rtol=1e-9, atol=1e-12):
        return None
    return a if va > vb else b


def dominant_channels(ratios: np.ndarray, share: float = 0.5) -> list[int]:
    """Fewest channels whose r_c² add up to ``share`` of the sum of r_c², largest first."""
    squares = np.asarray(ratios, dtype=np.float64) ** 2
    total = squares.sum()
    if total <= 0:
        return []
    order = np.argsort(-squares, kind="stable")
    count = int(np.searchsorted(np.cumsum(squares[order]), share * total - 1e-12) + 1)
    return order[:count].tolist()


def compare_layer(layer: str, ratios: Mapping[str, np.ndarray], final_scores: Mapping[str, float]) -> LayerFacts:
    """Facts and sentences comparing two images at one layer.

    Args:
        layer: the layer's name (for the text).
        ratios: two entries, image name -> (C,) r_c at this layer.
        final_scores: the same two names -> final GAIA-Z.
    """
    if len(ratios) != 2 or set(ratios) != set(final_scores):
        raise ValueError("compare_layer takes exactly two images, with their final scores")
    arrays = {name: np.asarray(r, dtype=np.float64).ravel() for name, r in ratios.items()}
    mean_nonzero = {n: float(a.mean()) for n, a in arrays.items()}
    spread = {n: float(a.std()) for n, a in arrays.items()}
    layer_score = {n: float((a**2).mean()) for n, a in arrays.items()}
    dominant = {n: dominant_channels(a) for n, a in arrays.items()}
    all_ones = all(np.allclose(a, 1.0) for a in arrays.values())
    fewer = _larger(mean_nonzero)
    more_zeros = None if fewer is None else next(n for n in arrays if n != fewer)
    wider = _larger(spread)
    higher_layer = _larger(layer_score)
    higher_final = _larger(dict(final_scores))
    agrees = higher_layer == higher_final
    sentences = []
    if all_ones:
        sentences.append(
            f"At {layer} every channel's gradient has no zeros for both images (r_c = 1 everywhere): "
            "this layer adds the same amount to both scores and cannot tell them apart."
        )
    else:
        if more_zeros is None:
            sentences.append(f"At {layer} both images have the same share of zeros in the gradient.")
        else:
            sentences.append(
                f"At {layer} the {more_zeros} image has more zeros in its gradient "
                f"(mean r_c {mean_nonzero[more_zeros]:.2f} vs {mean_nonzero[fewer]:.2f})."
            )
        if wider is not None:
            other = next(n for n in arrays if n != wider)
            sentences.append(
                f"The {wider} image's r_c are spread wider (standard deviation {spread[wider]:.2f} vs "
                f"{spread[other]:.2f}); the mean of r_c² rewards spread as well as level."
            )
        for name, channels in dominant.items():
            sentences.append(
                f"For the {name} image, {len(channels)} of {arrays[name].size} channels make up half of its "
                f"sum of r_c² (largest: channel {channels[0]})."
                if channels
                else f"The {name} image has r_c = 0."
            )
    if higher_layer is not None and higher_final is not None:
        verdict = "agrees with" if agrees else "is the opposite of"
        sentences.append(
            f"This layer's mean r_c² is higher for the {higher_layer} image, which {verdict} the final GAIA-Z "
            f"(higher for the {higher_final} image)."
        )
    return LayerFacts(
        more_zeros=more_zeros,
        mean_nonzero=mean_nonzero,
        wider_spread=wider,
        spread=spread,
        layer_score=layer_score,
        dominant_channels=dominant,
        higher_layer_score=higher_layer,
        higher_final_score=higher_final,
        agrees_with_final=agrees,
        all_ones=all_ones,
        text=" ".join(sentences),
    )


def same_gradient_layers(gradients: Mapping[str, np.ndarray]) -> list[tuple[str, str]]:
    """Pairs of tapped layers whose gradients are equal (e.g. a ResNet block's last norm and its
    shortcut's norm, which feed one sum), detected from the gradients (same shape, equal values).

    Args:
        gradients: layer -> gradient of one image at that layer, any shape.
    """
    names = list(gradients)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ga, gb = np.asarray(gradients[a]), np.asarray(gradients[b])
            if ga.shape != gb.shape:
                continue
            scale = max(float(np.abs(ga).max(initial=0.0)), float(np.abs(gb).max(initial=0.0)), 1e-30)
            if float(np.abs(ga - gb).max(initial=0.0)) <= SAME_GRADIENT_TOLERANCE * scale:
                pairs.append((a, b))
    return pairs
