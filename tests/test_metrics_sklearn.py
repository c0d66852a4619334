"""The numpy metrics are scikit-learn's: the same FPR95, AUROC and average precisions, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from gaia_core.evaluation.metrics import ood_metrics


def _sklearn(id_scores: np.ndarray, ood_scores: np.ndarray) -> dict[str, float]:
    is_id = np.concatenate([np.ones(id_scores.size), np.zeros(ood_scores.size)])
    id_ness = -np.concatenate([id_scores, ood_scores])
    fpr, tpr, _ = roc_curve(is_id, id_ness, drop_intermediate=False)
    return {
        "fpr95": float(fpr[np.searchsorted(tpr, 0.95, side="left")]),
        "auroc": float(roc_auc_score(is_id, id_ness)),
        "aupr_in": float(average_precision_score(is_id, id_ness)),
        "aupr_out": float(average_precision_score(1 - is_id, -id_ness)),
    }


@pytest.mark.parametrize("decimals", [None, 1, 0])  # continuous scores, many ties, a few values
def test_metrics_equal_scikit_learns_on_random_scores(decimals):
    rng = np.random.default_rng(decimals or 7)
    for _ in range(40):
        id_scores = rng.normal(0.0, 1.0, rng.integers(3, 300))
        ood_scores = rng.normal(0.7, 1.3, rng.integers(3, 300))
        if decimals is not None:
            id_scores, ood_scores = np.round(id_scores, decimals), np.round(ood_scores, decimals)
        ours, theirs = ood_metrics(id_scores, ood_scores), _sklearn(id_scores, ood_scores)
        assert list(ours) == list(theirs)
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], abs=1e-12), key
