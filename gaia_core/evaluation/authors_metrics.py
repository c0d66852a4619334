"""The GAIA authors' metric convention (their ``cal_metric``), beside ours in `metrics.py`.

Scores are abnormalities (higher = more OOD). The authors' code works on ID-ness (their scores
are negated abnormalities) and reads FPR95 at the ID score of the 5% quantile instead of at the
first ROC threshold reaching 95% TPR, and integrates the precision-recall curve with the trapezoid
rule instead of average precision. On the same scores the two conventions can differ by a few
FPR95 points on small sets.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import auc, precision_recall_curve, roc_auc_score

from gaia_core.evaluation.metrics import _as_scores


def authors_ood_metrics(id_scores, ood_scores) -> dict[str, float]:
    """FPR95, AUROC, AUPR-In and AUPR-Out, as fractions, as the authors' ``cal_metric`` computes them.

    FPR95: threshold t = the 5% quantile (numpy's linear interpolation) of ID-ness (= -score);
    the FPR is the share of OOD samples with ID-ness >= t. AUPR: the area under
    ``precision_recall_curve`` by the trapezoid rule (``sklearn.metrics.auc``).

    Args:
        id_scores: (N_id,) abnormality scores of in-distribution samples.
        ood_scores: (N_ood,) abnormality scores of OOD samples.
    """
    id_ness = -_as_scores(id_scores, "ID")
    ood_ness = -_as_scores(ood_scores, "OOD")
    threshold = np.percentile(id_ness, 5)
    is_id = np.concatenate([np.ones(id_ness.size), np.zeros(ood_ness.size)])
    both = np.concatenate([id_ness, ood_ness])
    precision_in, recall_in, _ = precision_recall_curve(is_id, both)
    precision_out, recall_out, _ = precision_recall_curve(1 - is_id, -both)
    return {
        "fpr95": float(np.mean(ood_ness >= threshold)),
        "auroc": float(roc_auc_score(is_id, both)),
        "aupr_in": float(auc(recall_in, precision_in)),
        "aupr_out": float(auc(recall_out, precision_out)),
    }
