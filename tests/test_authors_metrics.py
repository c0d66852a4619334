"""The authors' metric convention against ours, on hand-made scores."""

import numpy as np
import pytest

from gaia_core.evaluation.authors_metrics import authors_ood_metrics
from gaia_core.evaluation.metrics import ood_metrics


def test_authors_fpr95_uses_the_interpolated_5_percent_quantile_and_ours_the_first_threshold_reaching_95():
    # 10 ID scores 0..9 (higher = more OOD); ours keeps ceil(9.5)=10 -> every ID accepted, threshold 9.
    # Authors: 5% quantile of ID-ness (-9..0) = -9 + 0.45 = -8.55 -> accept score <= 8.55.
    id_scores = np.arange(10.0)
    ood_scores = np.array([8.5, 8.6, 9.0, 20.0])
    assert ood_metrics(id_scores, ood_scores)["fpr95"] == pytest.approx(3 / 4)
    assert authors_ood_metrics(id_scores, ood_scores)["fpr95"] == pytest.approx(1 / 4)


def test_authors_aupr_is_the_trapezoid_area_not_average_precision():
    id_scores = np.array([0.0, 1.0, 2.0, 5.0])
    ood_scores = np.array([1.5, 3.0, 4.0, 6.0])
    ours, theirs = ood_metrics(id_scores, ood_scores), authors_ood_metrics(id_scores, ood_scores)
    assert theirs["auroc"] == pytest.approx(ours["auroc"])
    assert theirs["aupr_in"] != pytest.approx(ours["aupr_in"])
    # Ranked by ID-ness: ID, ID, OOD, ID, OOD, OOD, ID, OOD. PR points (recall, precision):
    # (0, 1) (.25, 1) (.5, 1) (.5, 2/3) (.75, 3/4) (.75, 3/5) (.75, 1/2) (1, 4/7) (1, 1/2).
    trapezoid = 0.5 * 1.0 + 0.25 * (2 / 3 + 3 / 4) / 2 + 0.25 * (1 / 2 + 4 / 7) / 2
    average_precision = 0.25 * (1 + 1 + 3 / 4 + 4 / 7)
    assert theirs["aupr_in"] == pytest.approx(trapezoid)
    assert ours["aupr_in"] == pytest.approx(average_precision)


def test_both_conventions_agree_on_perfectly_separated_scores():
    id_scores, ood_scores = np.linspace(0, 1, 50), np.linspace(2, 3, 30)
    for metrics in (ood_metrics(id_scores, ood_scores), authors_ood_metrics(id_scores, ood_scores)):
        assert metrics == pytest.approx({"fpr95": 0.0, "auroc": 1.0, "aupr_in": 1.0, "aupr_out": 1.0})
