import pytest
import torch


def randomize_norm_stats(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give norm layers non-trivial affine parameters and running statistics, so that
    ReLU masks and in-place effects actually matter in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) and m.weight is not None:
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.3)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.2)
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model


@pytest.fixture(autouse=True)
def _deterministic_seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def private_score_cache(tmp_path_factory):
    """A module's own score cache folder (``GAIA_CACHE_DIR``) for the app tests that score."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAIA_CACHE_DIR", str(tmp_path_factory.mktemp("score_cache")))
        yield
