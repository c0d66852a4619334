"""A cached rerun runs no model pass: the label check's class count and GAIA's applicability are
remembered per weights in the score cache, and give the same answers as when computed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import randomize_norm_stats

from gaia_core.data import ArrayDataset, LabelMismatchError, demo_dataset, evenly_spaced
from gaia_core.demo.model import build_demo_model
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.model_facts import applicability
from gaia_core.evaluation.ood_tables import check_labels_fit
from gaia_core.scores.applicability import check_applicability


def _counted(seed: int = 0):
    torch.manual_seed(seed)
    model = randomize_norm_stats(build_demo_model(), seed).eval()
    calls = []
    model.register_forward_pre_hook(lambda module, args: calls.append(args[0].shape[0]))
    return model, calls


def test_a_second_label_check_reads_the_class_count_instead_of_running_the_model(tmp_path):
    model, calls = _counted()
    digits = evenly_spaced(demo_dataset("digits"), 8)
    cache = ScoreCache(tmp_path)
    check_labels_fit(model, digits, cache)
    assert len(calls) == 1
    check_labels_fit(model, digits, cache)
    assert len(calls) == 1
    check_labels_fit(model, digits)  # no cache: the model is asked
    assert len(calls) == 2


def test_a_remembered_class_count_still_refuses_labels_beyond_it(tmp_path):
    model, calls = _counted()
    cache = ScoreCache(tmp_path)
    check_labels_fit(model, evenly_spaced(demo_dataset("digits"), 4), cache)
    images = np.zeros((3, 1, 32, 32), dtype=np.float32)
    wide = ArrayDataset(images, np.array([0, 5, 12]), "wide", demo_dataset("noise").transform)
    with pytest.raises(LabelMismatchError, match="10 classes"):
        check_labels_fit(model, wide, cache)
    assert len(calls) == 1
    other, other_calls = _counted(seed=1)  # other weights: counted again
    with pytest.raises(LabelMismatchError):
        check_labels_fit(other, wide, cache)
    assert len(other_calls) == 1


def test_applicability_is_remembered_per_weights_and_data_set_and_equals_the_probe(tmp_path):
    model, calls = _counted()
    digits = evenly_spaced(demo_dataset("digits"), 8)
    cache = ScoreCache(tmp_path)
    first = applicability(model, digits, cache)
    passes = len(calls)
    assert passes > 0
    again = applicability(model, digits, cache)
    assert len(calls) == passes and again == first
    expected = check_applicability(model, torch.stack([digits[i].image for i in range(4)]))
    assert first.zero_fraction == pytest.approx(expected.zero_fraction) and first.note == expected.note
    applicability(model, evenly_spaced(demo_dataset("letters"), 8), cache)  # another set: probed
    assert len(calls) > passes
