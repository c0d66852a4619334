"""On a CUDA machine: the same scores as on the CPU, with no device hard-coded anywhere."""

import pytest
import torch
import torchvision
from conftest import randomize_norm_stats

from gaia_core.device import best_device, model_device
from gaia_core.scores import available, create, score_many

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_best_device_follows_availability():
    assert best_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@cuda
def test_scores_on_cuda_equal_scores_on_cpu():
    model = randomize_norm_stats(torchvision.models.resnet18(num_classes=10)).eval()
    x = torch.randn(4, 3, 64, 64)
    methods = [create(n) for n in available()]
    methods = [m.fit(model, [x]) if m.needs_fit else m for m in methods]
    cpu = score_many(model, x, methods)
    gpu_model = randomize_norm_stats(torchvision.models.resnet18(num_classes=10)).eval().cuda()
    gpu_model.load_state_dict(model.state_dict())
    gpu = score_many(gpu_model, x.cuda(), methods)
    assert model_device(gpu_model).type == "cuda"
    for name in cpu:
        assert gpu[name].score.device.type == "cuda"
        torch.testing.assert_close(gpu[name].score.cpu(), cpu[name].score, rtol=2e-3, atol=1e-4)


@cuda
def test_the_benchmark_runs_on_cuda_and_names_the_gpu(capsys):
    from gaia_core.bench import main

    assert main(["--device", "cuda", "--cases", "0", "4", "--batch", "2", "--repeats", "1", "--parts", "gaia"]) == 0
    out = capsys.readouterr().out
    assert torch.cuda.get_device_name() in out and "bit_s_r101x1 480x480 b2" in out
