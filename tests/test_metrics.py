import numpy as np
import pytest
import torch

from gaia_core.evaluation.metrics import ood_metrics, threshold_at_tpr


def test_metrics_on_hand_worked_case_with_ties():
    # ID [1,1,2,2], OOD [2,3]. Keeping >= 95% of ID needs t = 2, which also accepts the
    # OOD 2: FPR95 = 1/2. AUROC counts (id < ood) pairs plus half the ties: 7/8.
    # AUPR-In (ID positive): P=1 at R=.5, P=.8 at R=1 -> 0.9. AUPR-Out: P=1 at R=.5, P=.5 at R=1 -> .75.
    m = ood_metrics([1, 1, 2, 2], [2, 3])
    assert m == pytest.approx({"fpr95": 0.5, "auroc": 0.875, "aupr_in": 0.9, "aupr_out": 0.75})


def test_fpr95_is_read_at_the_first_threshold_keeping_95_percent_of_id():
    id_scores = np.arange(100.0)  # t must keep 95 of 100 ID: t = 94
    ood_scores = np.array([94.0, 94.5, 200.0])
    assert threshold_at_tpr(id_scores) == 94.0
    assert ood_metrics(id_scores, ood_scores)["fpr95"] == pytest.approx(1 / 3)


def test_perfect_separation_gives_zero_fpr_and_unit_areas():
    m = ood_metrics(torch.tensor([0.1, 0.2, 0.3]), torch.tensor([1.0, 2.0]))
    assert m == {"fpr95": 0.0, "auroc": 1.0, "aupr_in": 1.0, "aupr_out": 1.0}


def test_inverted_scores_give_worst_metrics():
    m = ood_metrics([1.0, 2.0], [0.0, -1.0])
    assert m["auroc"] == 0.0 and m["fpr95"] == 1.0


@pytest.mark.parametrize("bad", [[], [float("nan")], [float("inf")]])
def test_empty_or_non_finite_scores_are_refused(bad):
    with pytest.raises(ValueError):
        ood_metrics(bad or [], [1.0])


def test_threshold_keeps_at_least_the_requested_fraction_of_id():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=37)
    t = threshold_at_tpr(scores, 0.95)
    assert (scores <= t).mean() >= 0.95
    assert (scores < t).mean() < 0.95
