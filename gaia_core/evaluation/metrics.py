"""OOD detection metrics. Scores are abnormalities (higher = more OOD); ID is the positive class."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gaia_core.errors import GaiaError


@dataclass(frozen=True)
class Metric:
    """One OOD metric as tables and charts show it."""

    # Key in the dicts `ood_metrics` returns.
    key: str
    # Column header ("FPR95").
    label: str
    # True when a higher value is better (AUROC), False when lower is (FPR95).
    higher_is_better: bool

    @property
    def header(self) -> str:
        """The label with the direction that is better ("FPR95 ↓", "AUROC ↑")."""
        return f"{self.label} {'↑' if self.higher_is_better else '↓'}"


# Every metric `ood_metrics` computes, in the order the tables show them.
METRICS = (
    Metric("fpr95", "FPR95", higher_is_better=False),
    Metric("auroc", "AUROC", higher_is_better=True),
    Metric("aupr_in", "AUPR-In", higher_is_better=True),
    Metric("aupr_out", "AUPR-Out", higher_is_better=True),
)
METRIC_KEYS = tuple(m.key for m in METRICS)


class ScoreValuesError(GaiaError, ValueError):
    """Scores that metrics cannot be computed from (none, or NaN / infinite values)."""


def _as_scores(values, what: str) -> np.ndarray:
    array = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ScoreValuesError(f"no {what} scores")
    if not np.isfinite(array).all():
        raise ScoreValuesError(f"{what} scores contain NaN or infinite values")
    return array


def _counts_at_thresholds(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives when flagging ``score >= t``, for each distinct score t from the
    highest down (``roc_curve``'s thresholds, without its leading (0, 0) point)."""
    order = np.argsort(-score, kind="mergesort")
    score, positive = score[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]  # the last sample of each distinct score
    tps = np.cumsum(positive)[last]
    return tps, (last + 1) - tps


def _average_precision(tps: np.ndarray, fps: np.ndarray) -> float:
    """sum over thresholds of (recall step) x precision: ``average_precision_score``."""
    return float(np.sum(np.diff(np.r_[0.0, tps / tps[-1]]) * (tps / (tps + fps))))


def ood_metrics(id_scores, ood_scores) -> dict[str, float]:
    """FPR at 95% TPR, AUROC, AUPR-In and AUPR-Out, as fractions.

    FPR95 is the false-positive rate at the first threshold, sweeping from most to least
    ID-like, where at least 95% of ID samples are accepted (``roc_curve``'s layout).
    AUPR-In / AUPR-Out are average precisions with ID / OOD as the positive class.
    Computed with numpy from one sort per direction: the values of scikit-learn's ``roc_curve``,
    ``roc_auc_score`` and ``average_precision_score`` (to rounding, ~1e-16), at a twentieth of their
    cost (their input validation dominated a cached rerun's tables).

    Args:
        id_scores: (N_id,) abnormality scores of in-distribution samples.
        ood_scores: (N_ood,) abnormality scores of OOD samples.
    """
    id_s, ood_s = _as_scores(id_scores, "ID"), _as_scores(ood_scores, "OOD")
    is_id = np.concatenate([np.ones(id_s.size), np.zeros(ood_s.size)])
    id_ness = -np.concatenate([id_s, ood_s])
    tps, fps = _counts_at_thresholds(is_id, id_ness)
    tpr, fpr = np.r_[0.0, tps] / tps[-1], np.r_[0.0, fps] / fps[-1]
    values = {
        "fpr95": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
        "auroc": float(np.trapezoid(tpr, fpr)),
        "aupr_in": _average_precision(tps, fps),
        "aupr_out": _average_precision(*_counts_at_thresholds(1 - is_id, -id_ness)),
    }
    return {key: values[key] for key in METRIC_KEYS}


def percentile_of(values, id_scores):
    """Percent of ID scores less than or equal to each value, in [0, 100].

    Args:
        values: one score (a float comes back) or (S,) scores (an (S,) array comes back).
        id_scores: (N_id,) scores of the ID reference.
    """
    ordered = np.sort(_as_scores(id_scores, "ID"))
    percent = 100.0 * np.searchsorted(ordered, np.asarray(values, dtype=np.float64), side="right") / ordered.size
    return float(percent) if np.ndim(percent) == 0 else percent


def threshold_at_tpr(id_scores, tpr: float = 0.95) -> float:
    """The score t such that flagging ``score > t`` as OOD keeps at least ``tpr`` of ID.

    It is the ceil(tpr * N)-th smallest ID score, the same threshold FPR95 is read at.
    """
    if not 0.0 < tpr <= 1.0:
        raise ValueError("tpr must be in (0, 1]")
    ordered = np.sort(_as_scores(id_scores, "ID"))
    return float(ordered[math.ceil(round(tpr * ordered.size, 9)) - 1])
