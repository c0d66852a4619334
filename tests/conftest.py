"""Fixtures the test modules share; the helpers behind them are in `tests/helpers/`."""

import pytest
import torch
from helpers.app import scored_session
from helpers.browser import ARTIFACTS, CHROMIUM, LAUNCH_ARGS, served_app


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
    """A module's own score cache folder (``GAIA_CACHE_DIR``) for the app tests that score, and
    a fresh job runner: jobs another module ran (against its own cache) are not this module's."""
    from app_pages.shell.job_progress import job_runner

    job_runner.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAIA_CACHE_DIR", str(tmp_path_factory.mktemp("score_cache")))
        yield


@pytest.fixture(scope="module")
def scored_app(private_score_cache):
    """A module's app session that scored digits against every demo OOD set (`helpers.app.scored_session`)."""
    return scored_session()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """A module's own app server (`helpers.browser.served_app`), with a fresh score cache."""
    with served_app(tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("log") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    tab = context.new_page()
    yield tab
    context.close()
