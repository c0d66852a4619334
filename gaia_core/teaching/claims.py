"""The pages' general claims, each computed from the data in use or stated as the paper's hypothesis
with the data's verdict beside it.

Every function returns plain facts and the sentence built from them; tests check the facts
against the numbers, pages show the sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gaia_core.data import PRESETS
from gaia_core.evaluation.published import PUBLISHED
from gaia_core.scores import method_label

# AUROC of a detector that guesses: below it, a method ranks ID images as the more abnormal ones.
CHANCE = 0.5


@dataclass(frozen=True)
class BelowChance:
    """One method whose AUROC on one OOD set is below chance."""

    # Method name (registry key).
    method: str
    # OOD set title.
    ood_set: str
    # AUROC as a fraction.
    auroc: float


def below_chance(
    metrics: Mapping[str, Mapping[str, Mapping[str, float]]], ood_sets: Sequence[str]
) -> list[BelowChance]:
    """Every (method, OOD set) among ``ood_sets`` whose AUROC is below `CHANCE`, lowest first.

    Args:
        metrics: method -> OOD set -> {"auroc", ...} as fractions (`BenchmarkResult.metrics`).
        ood_sets: the OOD set titles the table on screen covers.
    """
    found = [
        BelowChance(method, ood_set, float(per_set[ood_set]["auroc"]))
        for method, per_set in metrics.items()
        for ood_set in ood_sets
        if ood_set in per_set and float(per_set[ood_set]["auroc"]) < CHANCE
    ]
    return sorted(found, key=lambda b: b.auroc)


def below_chance_note(
    found: Sequence[BelowChance], id_name: str, averages: Mapping[str, float] | None = None
) -> str | None:
    """The sentence under a metrics table naming each method below chance; None when there is none.

    Args:
        found: `below_chance`'s list (per OOD set).
        id_name: the ID set's title (what the model knows).
        averages: when the table shows averages over the OOD sets, method -> its average AUROC
            (fraction); those below chance are named first, as the table shows them.
    """
    averaged = {m: a for m, a in (averages or {}).items() if a < CHANCE}
    if not found and not averaged:
        return None
    parts = []
    if averaged:
        listed = "; ".join(
            f"{method_label(m)} ({100 * a:.1f}%)" for m, a in sorted(averaged.items(), key=lambda i: i[1])
        )
        parts.append(f"Below chance (AUROC under 50%) on average over the OOD sets: {listed}.")
    if found:
        listed = "; ".join(f"{method_label(b.method)} on {b.ood_set} ({100 * b.auroc:.1f}%)" for b in found)
        parts.append(f"{'Per OOD set' if averaged else 'Below chance (AUROC under 50%)'}: {listed}.")
    parts.append(
        "Below chance means worse than guessing: this model is more confident on these OOD images than on its own "
        f"ID images ({id_name}), so a method that trusts its confidence (or its gradients' size) ranks them as the "
        "more normal ones."
    )
    return " ".join(parts)


@dataclass(frozen=True)
class SparsityVerdict:
    """The paper's hypothesis on gradient sparsity, checked on images of the sets in use.

    Attributes:
        id_zero_share: mean over the ID images of their share of exactly-zero gradient entries.
        ood_zero_share: the same over the OOD images; None when there are none.
        id_images, ood_images: how many images each share is taken over.
        holds: whether the OOD images' gradients have fewer zeros (None without OOD images).
        text: the sentences.
    """

    id_zero_share: float
    ood_zero_share: float | None
    id_images: int
    ood_images: int
    holds: bool | None
    text: str


def sparsity_verdict(
    id_shares: np.ndarray, ood_shares: np.ndarray | None, id_name: str, ood_name: str = "the OOD sets"
) -> SparsityVerdict:
    """The hypothesis "on ID images most gradient entries are exactly zero; OOD images switch more
    units on (fewer zeros)" beside what the images in use show.

    Args:
        id_shares: (N,) per ID image, its share of exactly-zero gradient entries in [0, 1]
            (`gaia_core.scores.walkthrough.zero_shares`).
        ood_shares: (M,) the same for OOD images, or None.
        id_name: the ID set's title; ood_name: the OOD sets' names, for the text.
    """
    id_shares = np.asarray(id_shares, dtype=np.float64).ravel()
    if id_shares.size == 0:
        raise ValueError("sparsity_verdict needs at least one ID image")
    id_share = float(id_shares.mean())
    most = "most" if id_share > 0.5 else "fewer than half of the"
    sentences = [
        f"On {id_shares.size} images of {id_name}, {100 * id_share:.0f}% of the gradient entries are exactly "
        f"zero ({most} entries)."
    ]
    ood_share, holds, count = None, None, 0
    if ood_shares is not None and np.asarray(ood_shares).size:
        ood_array = np.asarray(ood_shares, dtype=np.float64).ravel()
        ood_share, count = float(ood_array.mean()), int(ood_array.size)
        holds = ood_share < id_share
        verdict = (
            "fewer zeros, as the paper expects"
            if holds
            else "no fewer zeros: the paper's expectation does not hold on these images"
        )
        sentences.append(f"On {count} images of {ood_name}, {100 * ood_share:.0f}% are: {verdict}.")
    return SparsityVerdict(id_share, ood_share, int(id_shares.size), count, holds, " ".join(sentences))


@dataclass(frozen=True)
class ScoreVerdict:
    """Whether a score is higher on OOD images than on ID images, on the images in use."""

    # Mean score over the ID images and over the OOD images.
    id_mean: float
    ood_mean: float
    # Whether the OOD mean is the higher one.
    holds: bool
    # The sentence.
    text: str


def score_verdict(id_scores: np.ndarray, ood_scores: np.ndarray, what: str) -> ScoreVerdict:
    """ "``what`` is higher on OOD images", checked on the mean of each group.

    Args:
        id_scores: (N,) values on ID images; ood_scores: (M,) on OOD images.
        what: the quantity's name for the text ("GAIA-A's channel averages").
    """
    id_mean, ood_mean = float(np.mean(id_scores)), float(np.mean(ood_scores))
    holds = ood_mean > id_mean
    verdict = "higher on the OOD images, as the paper expects" if holds else "not higher on the OOD images"
    return ScoreVerdict(id_mean, ood_mean, holds, f"{what}: {verdict} (mean {ood_mean:.4g} vs {id_mean:.4g} on ID).")


@dataclass(frozen=True)
class ChannelDirections:
    """How many channels have a higher mean on OOD images than on ID images.

    Attributes:
        higher: channels whose OOD mean is above their ID mean.
        lower: channels whose OOD mean is below it.
        total: channels compared (equal means count in neither).
        text: the sentence.
    """

    higher: int
    lower: int
    total: int
    text: str


def channel_directions(
    id_channels: Mapping[str, np.ndarray], ood_channels: Mapping[str, np.ndarray], symbol: str
) -> ChannelDirections:
    """The hypothesis "the per-channel value is higher on OOD images", counted channel by channel.

    Args:
        id_channels: layer -> (N, C) per-image channel values of the ID images.
        ood_channels: layer -> (M, C) the OOD images' (the same layers).
        symbol: the quantity's name for the text ("r_c", "u_c / o").
    """
    higher = lower = total = 0
    for layer, values in id_channels.items():
        if layer not in ood_channels:
            continue
        id_mean = np.asarray(values, dtype=np.float64).mean(axis=0)
        ood_mean = np.asarray(ood_channels[layer], dtype=np.float64).mean(axis=0)
        higher += int((ood_mean > id_mean).sum())
        lower += int((ood_mean < id_mean).sum())
        total += int(id_mean.size)
    if total == 0:
        return ChannelDirections(0, 0, 0, f"No channel of {symbol} to compare.")
    if higher > lower:
        verdict = "most channels follow the paper's expectation"
    elif higher < lower:
        verdict = "most channels go the other way: the paper's expectation does not hold here"
    else:
        verdict = "as many go one way as the other"
    text = (
        f"On the sets scored here, {symbol} is higher on OOD images than on ID images in {higher} of {total} "
        f"channels and lower in {lower}: {verdict}."
    )
    return ChannelDirections(higher, lower, total, text)


def published_failures() -> pd.DataFrame:
    """The published AUROCs of GAIA on benchmarks the app has no preset for (industrial and medical
    images, `gaia_core.evaluation.published`): where GAIA does not work. Columns: benchmark,
    OOD set, AUROC (%)."""
    rows = [
        {"benchmark": f.benchmark, "OOD set": f.ood_set, "AUROC (%)": f.value}
        for f in PUBLISHED
        if f.metric == "auroc" and f.benchmark not in PRESETS
    ]
    return pd.DataFrame(rows, columns=["benchmark", "OOD set", "AUROC (%)"])


def published_failures_note(table: pd.DataFrame) -> str:
    """The sentence over `published_failures`' rows: their AUROC range and the rows below chance."""
    if table.empty:
        return "No published figure lists GAIA outside the benchmarks the app has."
    values = table["AUROC (%)"]
    below = [f"{b} ({s})" for b, s, v in zip(table["benchmark"], table["OOD set"], values) if v < 100 * CHANCE]
    text = f"There its AUROC is {values.min():.1f}% to {values.max():.1f}% (50% is a guess, 100% perfect)"
    return text + (f"; below chance on {', '.join(below)}." if below else ".")
