"""The GAIA authors' metric convention, exactly their ``cal_metric`` (the ODIN / Mahalanobis lineage's
metrics file), beside ours in `metrics.py`.

Scores are abnormalities (higher = more OOD); the authors' code works on ID-ness, the negated
abnormality. On ID-ness ``known`` (ID) and ``novel`` (OOD):

- FPR95: threshold t = ``sorted(known)[round(0.05 * n_known)]`` (an order statistic; Python's
  round, half to even), FPR95 = the share of OOD samples whose ID-ness is strictly greater than t.
- The curve: walk the merged, sorted ID-ness values one sample at a time from the lowest, starting
  from tp = n_known, fp = n_novel; an OOD sample steps first only when strictly lower than the next
  ID sample (on a tie the ID sample steps first); then each run of tied values is collapsed to the
  point after the run.
- AUROC: the trapezoid area under (FPR, TPR) with the end points (1, 1) and (0, 0) added.
- AUPR-In: precision tp / (tp + fp) integrated over TPR (trapezoids), with precision 0.5 at TPR 1
  and 0 at TPR 0 added, points with tp + fp = 0 skipped.
- AUPR-Out: the OOD precision integrated over 1 - FPR, with end points 0 and 0.5 added, points
  with no sample below the threshold skipped.

They differ from ours (first ROC threshold reaching 95% TPR, average precision) by up to tens of
FPR95 points on small sets with tied scores and by under a point at benchmark size; the README's
"The paper's protocol" gives the measured differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaia_core.evaluation.metrics import _as_scores


@dataclass(frozen=True)
class AuthorsCurve:
    """The authors' curve and threshold on ID-ness; arrays have n_known + n_novel + 1 points."""

    # ID samples at or above each point of the walk (tp[0] = n_known).
    tp: np.ndarray
    # OOD samples at or above each point of the walk (fp[0] = n_novel).
    fp: np.ndarray
    # The ID-ness keeping 95% of ID: sorted(known)[round(0.05 * n_known)].
    threshold: float
    # Share of OOD samples with ID-ness strictly greater than the threshold.
    fpr95: float


def authors_curve(known: np.ndarray, novel: np.ndarray) -> AuthorsCurve:
    """The authors' ``get_curve`` on ID-ness (higher = more in-distribution).

    Args:
        known: (N_id,) ID-ness of the in-distribution samples.
        novel: (N_ood,) ID-ness of the OOD samples.
    """
    known, novel = np.sort(np.asarray(known, dtype=np.float64)), np.sort(np.asarray(novel, dtype=np.float64))
    num_k, num_n = known.size, novel.size
    values = np.concatenate([known, novel])
    # The walk's order: ascending ID-ness, an ID sample before an OOD one of the same value.
    order = np.lexsort((np.r_[np.zeros(num_k), np.ones(num_n)], values))
    is_id = order < num_k
    tp = np.r_[num_k, num_k - np.cumsum(is_id)]
    fp = np.r_[num_n, num_n - np.cumsum(~is_id)]
    # Collapse ties: the points inside a run of equal values take the point after the run.
    ordered = values[order]
    tied = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    if tied.size:
        run_starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
        run_ends = np.r_[run_starts[1:], ordered.size]  # one past each run's last sample
        after_run = run_ends[np.searchsorted(run_starts, tied, side="right") - 1]
        tp[tied], fp[tied] = tp[after_run], fp[after_run]
    threshold = float(known[round(0.05 * num_k)])
    return AuthorsCurve(tp, fp, threshold, float(np.sum(novel > threshold) / num_n))


def authors_ood_metrics(id_scores, ood_scores) -> dict[str, float]:
    """FPR95, AUROC, AUPR-In and AUPR-Out, as fractions, exactly as the authors' ``cal_metric``.

    Args:
        id_scores: (N_id,) abnormality scores of in-distribution samples.
        ood_scores: (N_ood,) abnormality scores of OOD samples.
    """
    curve = authors_curve(-_as_scores(id_scores, "ID"), -_as_scores(ood_scores, "OOD"))
    tp, fp = curve.tp.astype(np.float64), curve.fp.astype(np.float64)
    tpr = np.r_[1.0, tp / tp[0], 0.0]
    fpr = np.r_[1.0, fp / fp[0], 0.0]
    accepted = tp + fp
    keep_in = np.r_[True, accepted > 0, True]
    precision_in = np.r_[0.5, tp / np.where(accepted > 0, accepted, -1.0), 0.0]
    rejected = tp[0] - tp + fp[0] - fp
    keep_out = np.r_[True, rejected > 0, True]
    precision_out = np.r_[0.0, (fp[0] - fp) / np.where(rejected > 0, rejected, -1.0), 0.5]
    return {
        "fpr95": curve.fpr95,
        "auroc": float(-np.trapezoid(1.0 - fpr, tpr)),
        "aupr_in": float(-np.trapezoid(precision_in[keep_in], tpr[keep_in])),
        "aupr_out": float(np.trapezoid(precision_out[keep_out], 1.0 - fpr[keep_out])),
    }
