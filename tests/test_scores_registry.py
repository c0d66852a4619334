"""Every registered method: one call signature, per-sample results, and its own definition."""

import copy

import pytest
import torch
import torch.nn.functional as F
import torchvision
from conftest import randomize_norm_stats

from gaia_core.scores import NotFittedError, available, create, score_many


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    return randomize_norm_stats(torchvision.models.resnet18(num_classes=10)).eval()


@pytest.fixture(scope="module")
def x():
    return torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(5))


def _ready(name, model, x):
    method = create(name)
    return method.fit(model, [x]) if method.needs_fit else method


def test_registry_lists_gaia_and_the_baselines():
    assert available() == ["gaia_a", "gaia_z", "msp", "maxlogit", "energy", "odin", "gradnorm", "react"]


def test_unknown_method_names_the_available_ones():
    with pytest.raises(KeyError, match="available: gaia_a"):
        create("mahalanobis")


def test_bad_configuration_is_a_clear_type_error():
    with pytest.raises(TypeError, match="bad configuration for 'energy'"):
        create("energy", temprature=2.0)


@pytest.mark.parametrize("name", available())
def test_batch_result_equals_one_sample_at_a_time(name, model, x):
    method = _ready(name, model, x)
    batch = method(model, x)
    singles = torch.cat([method(model, x[i : i + 1]).score for i in range(len(x))])
    assert batch.score.shape == (len(x),) and batch.logits.shape == (len(x), 10)
    torch.testing.assert_close(batch.score, singles, rtol=1e-4, atol=1e-5)


def test_score_many_equals_separate_calls(model, x):
    methods = [_ready(n, model, x) for n in available()]
    together = score_many(model, x, methods)
    assert list(together) == available()
    for method in methods:
        alone = method(model, x)
        torch.testing.assert_close(together[method.name].score, alone.score)
        torch.testing.assert_close(together[method.name].logits, alone.logits)


def test_score_many_refuses_the_same_method_twice(model, x):
    with pytest.raises(ValueError, match="same method twice"):
        score_many(model, x, [create("msp"), create("msp")])


def test_logit_baselines_follow_their_definitions(model, x):
    logits = model(x).detach()
    torch.testing.assert_close(create("msp")(model, x).score, -logits.softmax(1).max(1).values)
    torch.testing.assert_close(create("maxlogit")(model, x).score, -logits.max(1).values)
    torch.testing.assert_close(
        create("energy", temperature=2.0)(model, x).score, -2.0 * torch.logsumexp(logits / 2.0, 1)
    )


def test_gradnorm_closed_form_equals_autograd_weight_gradient(model, x):
    copy_ = copy.deepcopy(model)
    expected = []
    for sample in x.split(1):
        copy_.zero_grad()
        logits = copy_(sample)
        loss = -(F.log_softmax(logits, dim=1)).mean(dim=1).sum()  # KL(uniform || softmax) up to a constant
        loss.backward()
        expected.append(copy_.fc.weight.grad.abs().sum())
    torch.testing.assert_close(create("gradnorm")(model, x).score, -torch.stack(expected), rtol=1e-4, atol=1e-4)


def test_odin_without_perturbation_is_temperature_scaled_msp(model, x):
    logits = model(x).detach()
    got = create("odin", epsilon=0.0, temperature=10.0)(model, x).score
    torch.testing.assert_close(got, -(logits / 10.0).softmax(1).max(1).values)


def test_odin_perturbation_raises_the_softmax_score(model, x):
    plain = create("odin", epsilon=0.0)(model, x).score
    perturbed = create("odin", epsilon=0.01)(model, x).score
    assert (perturbed <= plain + 1e-7).all() and (perturbed < plain).any()


def test_react_must_be_fitted_and_fits_the_feature_percentile(model, x):
    with pytest.raises(NotFittedError, match="fit"):
        create("react")(model, x)
    fitted = create("react", percentile=80).fit(model, [x[:2], x[2:]])
    features = torch.flatten(
        model.avgpool(
            model.layer4(model.layer3(model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(model.conv1(x))))))))
        ),
        1,
    )
    assert fitted.threshold == pytest.approx(torch.quantile(features.flatten(), 0.8).item(), rel=1e-5)
    clipped = model.fc(features.clamp(max=fitted.threshold))
    torch.testing.assert_close(fitted(model, x).score, -torch.logsumexp(clipped, 1).detach())


def test_odin_for_a_model_perturbs_in_pixel_units_eps_over_std_per_channel(model, x):
    from gaia_core.scores import create_for_model

    std = (0.5, 0.25, 0.125)
    method = create_for_model("odin", std, epsilon=0.002)
    assert method.input_std == std and create_for_model("msp", std) == create("msp")
    # Pixel units: the normalized input moves by eps / std_c, i.e. normalized-unit ODIN with that step per channel.
    leaf = x.clone().requires_grad_()
    logits = model(leaf) / method.temperature
    (grad,) = torch.autograd.grad(F.cross_entropy(logits, logits.argmax(1), reduction="sum"), leaf)
    step = torch.where(grad >= 0, 1.0, -1.0) * 0.002 / torch.tensor(std).view(1, 3, 1, 1)
    expected = -(model(x - step) / method.temperature).softmax(1).max(1).values
    torch.testing.assert_close(method(model, x).score, expected.detach())
    assert not torch.allclose(method(model, x).score, create("odin", epsilon=0.002)(model, x).score)


def test_react_threshold_does_not_depend_on_how_the_id_samples_are_batched(model, x):
    # A budget below the values per sample forces subsampling, which once weighted small batches more.
    bigger = torch.cat([x, x.flip(0) * 0.5, x * 2])
    one = create("react", max_fit_values=12 * 200).fit(model, [bigger])
    uneven = create("react", max_fit_values=12 * 200).fit(model, [bigger[:1], bigger[1:9], bigger[9:]])
    assert one.threshold == uneven.threshold
