"""The authors' metric convention (their ``cal_metric``) against ours, on hand-worked scores."""

from itertools import pairwise

import numpy as np
import pytest

from gaia_core.evaluation.authors_metrics import authors_curve, authors_ood_metrics
from gaia_core.evaluation.metrics import ood_metrics


def _cal_metric_as_written(known, novel):
    """The authors' ``get_curve`` + ``cal_metric`` transcribed step by step (loops, no vectorising),
    on ID-ness: the straightforward version `authors_ood_metrics` must equal."""
    known, novel = np.sort(known), np.sort(novel)
    num_k, num_n = len(known), len(novel)
    merged = np.sort(np.concatenate([known, novel]))
    tp, fp = [num_k], [num_n]
    k = n = 0
    for _ in range(num_k + num_n):
        if k < num_k and (n == num_n or not novel[n] < known[k]):
            k += 1
            tp.append(tp[-1] - 1)
            fp.append(fp[-1])
        else:
            n += 1
            tp.append(tp[-1])
            fp.append(fp[-1] - 1)
    for j in range(num_k + num_n - 1, 0, -1):
        if merged[j] == merged[j - 1]:
            tp[j], fp[j] = tp[j + 1], fp[j + 1]
    threshold = known[round(0.05 * num_k)]
    tp, fp = np.array(tp, dtype=float), np.array(fp, dtype=float)
    tpr, fpr = np.r_[1.0, tp / tp[0], 0.0], np.r_[1.0, fp / fp[0], 0.0]
    area = 0.0
    for i in range(len(tpr) - 1):
        area += (tpr[i] - tpr[i + 1]) * ((1 - fpr[i]) + (1 - fpr[i + 1])) / 2
    pin = [(1.0, 0.5)] + [(r, t / (t + f)) for r, t, f in zip(tpr[1:-1], tp, fp) if t + f > 0] + [(0.0, 0.0)]
    pout = [(0.0, 0.0)]
    pout += [
        (1 - x, (fp[0] - f) / (tp[0] - t + fp[0] - f))
        for x, t, f in zip(fpr[1:-1], tp, fp)
        if tp[0] - t + fp[0] - f > 0
    ]
    pout += [(1.0, 0.5)]
    aupr_in = sum((a[0] - b[0]) * (a[1] + b[1]) / 2 for a, b in pairwise(pin))
    aupr_out = sum((b[0] - a[0]) * (a[1] + b[1]) / 2 for a, b in pairwise(pout))
    return {"fpr95": float(np.sum(novel > threshold) / num_n), "auroc": area, "aupr_in": aupr_in, "aupr_out": aupr_out}


def test_hand_worked_case_with_a_tie_between_an_id_and_an_ood_sample():
    # ID-ness: ID -3 -2 -1 0, OOD -5 -2. Walk from the lowest (ID first on the tie at -2):
    # tp 4 4 3 2 2 1 0, fp 2 1 1 1 0 0 0; the tie at -2 collapses point 3 to point 4 (fp 1 -> 0).
    id_scores, ood_scores = np.array([0.0, 1.0, 2.0, 3.0]), np.array([2.0, 5.0])
    curve = authors_curve(-id_scores, -ood_scores)
    assert curve.tp.tolist() == [4, 4, 3, 2, 2, 1, 0] and curve.fp.tolist() == [2, 1, 1, 0, 0, 0, 0]
    # t = sorted ID-ness[round(0.2) = 0] = -3; OOD strictly above it: -2 only.
    assert curve.threshold == -3.0
    metrics = authors_ood_metrics(id_scores, ood_scores)
    # AUROC: trapezoids of 1 - FPR over TPR 1 1 1 .75 .5 .5 .25 0 0 = .125 + .1875 + .25 + .25.
    # AUPR-In: precision .5 | 4/6 4/5 3/4 1 1 1 (0/0 skipped) | 0 over TPR: .19375 + .21875 + .25 + .125.
    # AUPR-Out: precision 0 | (0/0 skipped) 1 .5 .5 .5 .4 1/3 | .5 over 1 - FPR 0 | .5 .5 1 1 1 1 | 1.
    assert metrics == pytest.approx({"fpr95": 0.5, "auroc": 0.8125, "aupr_in": 0.7875, "aupr_out": 0.5}, abs=1e-12)
    assert metrics == pytest.approx(_cal_metric_as_written(-id_scores, -ood_scores), abs=1e-12)


def test_fpr95_threshold_is_the_order_statistic_at_pythons_half_to_even_round():
    # 50 ID scores 0..49: round(0.05 * 50) = round(2.5) = 2 (half to even), so t = the third-lowest
    # ID-ness, -47. An OOD sample at -46.8 is strictly above it (counted); one at -47 is not.
    id_scores = np.arange(50.0)
    assert authors_ood_metrics(id_scores, [46.8])["fpr95"] == 1.0  # half-up (index 3, t = -46) would give 0
    assert authors_ood_metrics(id_scores, [47.0])["fpr95"] == 0.0  # equal to t: not counted
    # 10 ID scores: round(0.5) = 0, t = the lowest ID-ness -9 (the interpolated quantile was -8.55).
    ten = authors_ood_metrics(np.arange(10.0), np.array([8.5, 8.6, 9.0, 20.0]))
    assert ten["fpr95"] == pytest.approx(2 / 4)
    assert ood_metrics(np.arange(10.0), np.array([8.5, 8.6, 9.0, 20.0]))["fpr95"] == pytest.approx(3 / 4)


def test_authors_aupr_is_the_trapezoid_with_their_end_points_not_average_precision():
    id_scores = np.array([0.0, 1.0, 2.0, 5.0])
    ood_scores = np.array([1.5, 3.0, 4.0, 6.0])
    ours, theirs = ood_metrics(id_scores, ood_scores), authors_ood_metrics(id_scores, ood_scores)
    assert theirs["auroc"] == pytest.approx(ours["auroc"])
    # ID-ness from the lowest: OOD -6, ID -5, OOD -4, OOD -3, ID -2, OOD -1.5, ID -1, ID 0 (no ties), so the
    # walk's (tp, fp) are (4,4) (4,3) (3,3) (3,2) (3,1) (2,1) (2,0) (1,0) (0,0): (TPR, precision) below,
    # between the end points (1, .5) and (0, 0), the last (0, 0/0) skipped.
    average_precision = 0.25 * (1 + 1 + 3 / 4 + 4 / 7)
    assert ours["aupr_in"] == pytest.approx(average_precision)
    walk = [(1.0, 0.5), (1.0, 4 / 8), (1.0, 4 / 7), (0.75, 3 / 6), (0.75, 3 / 5), (0.75, 3 / 4), (0.5, 2 / 3)]
    walk += [(0.5, 2 / 2), (0.25, 1 / 1), (0.0, 0.0)]
    trapezoid = sum((a[0] - b[0]) * (a[1] + b[1]) / 2 for a, b in pairwise(walk))
    assert theirs["aupr_in"] == pytest.approx(trapezoid)
    assert theirs["aupr_in"] != pytest.approx(ours["aupr_in"])


def test_both_conventions_agree_on_perfectly_separated_scores_but_the_authors_end_points_cost_a_little_area():
    id_scores, ood_scores = np.linspace(0, 1, 50), np.linspace(2, 3, 30)
    assert ood_metrics(id_scores, ood_scores) == pytest.approx(
        {"fpr95": 0.0, "auroc": 1.0, "aupr_in": 1.0, "aupr_out": 1.0}
    )
    # Their AUPR-In ends at precision 0 at TPR 0: the last ID sample's trapezoid is half lost (1 - 1/100);
    # their AUPR-Out starts at precision 0: the first OOD sample's trapezoid is half lost (1 - 1/60).
    assert authors_ood_metrics(id_scores, ood_scores) == pytest.approx(
        {"fpr95": 0.0, "auroc": 1.0, "aupr_in": 1 - 1 / 100, "aupr_out": 1 - 1 / 60}
    )


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_curve_equals_the_step_by_step_transcription_on_tied_random_scores(seed):
    rng = np.random.default_rng(seed)
    n_id, n_ood = rng.integers(1, 40, size=2)
    # Few distinct values: many ties within and across the sets.
    id_scores = rng.integers(0, 6, n_id).astype(float)
    ood_scores = rng.integers(2, 9, n_ood).astype(float)
    expected = _cal_metric_as_written(-id_scores, -ood_scores)
    assert authors_ood_metrics(id_scores, ood_scores) == pytest.approx(expected, abs=1e-12)
