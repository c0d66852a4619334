"""The project-wide convention, pinned on the trained demo model: higher score = more likely OOD."""

import pytest
import torch

from gaia_core.demo.data import load_demo_set, normalize
from gaia_core.evaluation.metrics import ood_metrics
from gaia_core.models import load_model
from gaia_core.scores import available, create, score_many


@pytest.fixture(scope="module")
def demo_scores():
    model = load_model("demo", device="cpu")
    digits = normalize(load_demo_set("digits")[0][:200])
    letters = normalize(load_demo_set("letters")[0][:200])
    train = normalize(load_demo_set("digits", split="train")[0][:256])
    methods = [create(n) for n in available()]
    methods = [m.fit(model, train.split(64)) if m.needs_fit else m for m in methods]
    return score_many(model, digits, methods), score_many(model, letters, methods)


@pytest.mark.parametrize("name", available())
def test_letters_score_higher_than_digits(demo_scores, name):
    id_result, ood_result = demo_scores
    assert ood_metrics(id_result[name].score, ood_result[name].score)["auroc"] > 0.6
    assert id_result[name].logits.argmax(1).shape == (200,)


def test_demo_model_classifies_the_digits(demo_scores):
    id_result, _ = demo_scores
    labels = torch.from_numpy(load_demo_set("digits")[1][:200])
    assert (id_result["msp"].logits.argmax(1) == labels).float().mean() > 0.95
