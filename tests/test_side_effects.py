"""Scoring leaves the caller's model exactly as it was, also after an error, and is thread-safe."""

import threading

import pytest
import torch
import torchvision
from conftest import randomize_norm_stats

from gaia_core.scores import available, create, score_many
from gaia_core.scores.probe import ModelStateError
from gaia_core.scores.taps import LayerError


def _hook_count(model):
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


def _fitted(name, model, x):
    method = create(name)
    return method.fit(model, [x]) if method.needs_fit else method


@pytest.fixture(scope="module")
def model():
    return randomize_norm_stats(torchvision.models.resnet18(num_classes=10)).eval()


@pytest.mark.parametrize("name", available())
def test_scoring_leaves_hooks_grads_flags_and_mode_unchanged(model, name):
    x = torch.randn(2, 3, 32, 32)
    sentinel = torch.full_like(model.fc.weight, 7.0)
    model.fc.weight.grad = sentinel
    model.layer1[0].conv1.weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        result = _fitted(name, model, x)(model, x)
        assert result.score.shape == (2,) and torch.isfinite(result.score).all()
        assert _hook_count(model) == 0
        assert model.fc.weight.grad is sentinel and torch.equal(sentinel, torch.full_like(sentinel, 7.0))
        assert all(p.grad is None for n, p in model.named_parameters() if n != "fc.weight")
        assert [p.requires_grad for p in model.parameters()] == flags
        assert not model.training
        for k, v in model.state_dict().items():
            assert torch.equal(v, state[k]), k
    finally:
        model.fc.weight.grad = None
        model.layer1[0].conv1.weight.requires_grad_(True)


def test_hooks_are_removed_when_a_layer_fails_mid_forward(model):
    with pytest.raises(LayerError):
        score_many(model, torch.randn(1, 3, 32, 32), [create("gaia_z", layers=("layer1.0.bn1", "fc"))])
    assert _hook_count(model) == 0


def test_training_mode_is_refused_and_left_alone():
    model = torchvision.models.resnet18(num_classes=10).train()
    running_mean = model.bn1.running_mean.clone()
    with pytest.raises(ModelStateError, match="model.eval"):
        create("gaia_a")(model, torch.randn(2, 3, 32, 32))
    assert model.training and torch.equal(model.bn1.running_mean, running_mean)
    assert _hook_count(model) == 0


def test_concurrent_calls_on_one_model_match_serial_calls(model):
    methods = [create(n) for n in ("gaia_a", "gaia_z", "msp", "gradnorm")]
    inputs = [torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    serial = [score_many(model, x, methods) for x in inputs]
    results, errors = [None] * len(inputs), []
    barrier = threading.Barrier(len(inputs))

    def work(i):
        try:
            barrier.wait()
            for _ in range(3):
                results[i] = score_many(model, inputs[i], methods)
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got, want in zip(results, serial):
        for name in want:
            torch.testing.assert_close(got[name].score, want[name].score)
            for layer in want[name].channels:
                torch.testing.assert_close(got[name].channels[layer], want[name].channels[layer])
    assert _hook_count(model) == 0
