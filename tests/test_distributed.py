"""Several processes: every sample scored once, results identical to a single process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gaia_core.evaluation.scoring as evaluate_module
from gaia_core.cli import main
from gaia_core.evaluation.distributed import DistContext, current_context, launched_by_torchrun

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "evaluate",
    "--model",
    "demo",
    "--id",
    "digits",
    "--ood",
    "noise",
    "--methods",
    "msp",
    "gaia_z",
    "react",
    "--limit",
    "90",
    "--batch-size",
    "16",
    "--no-progress",
]


def test_shards_cover_every_index_once_without_padding():
    indices = np.arange(11)
    shards = [DistContext(rank, 3, rank, "gloo").shard(indices) for rank in range(3)]
    assert [len(s) for s in shards] == [4, 4, 3]
    assert sorted(np.concatenate(shards).tolist()) == list(range(11))


def test_a_single_process_is_not_distributed(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not launched_by_torchrun() and current_context() is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert launched_by_torchrun()


def _run(command: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


def _samples(path: Path) -> dict:
    return {key: value["samples"] for key, value in json.loads(path.read_text())["datasets"].items()}


@pytest.mark.slow  # torchrun subprocesses
def test_two_processes_write_the_same_result_as_one(tmp_path):
    _run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "gaia_core",
            *ARGS,
            "--no-cache",
            "--json",
            str(tmp_path / "two.json"),
        ],
        tmp_path,
    )
    _run([sys.executable, "-m", "gaia_core", *ARGS, "--no-cache", "--json", str(tmp_path / "one.json")], tmp_path)
    two, one = _samples(tmp_path / "two.json"), _samples(tmp_path / "one.json")
    assert set(two) == set(one) == {"id", "ood:noise"}
    for key in one:
        assert two[key]["sample_id"] == one[key]["sample_id"]
        assert len(set(two[key]["sample_id"])) == len(two[key]["sample_id"])
        assert two[key]["pred"] == one[key]["pred"]
        for method in ("msp", "gaia_z", "react"):
            np.testing.assert_allclose(two[key][method], one[key][method], rtol=1e-5, atol=1e-7)
    metrics_two = json.loads((tmp_path / "two.json").read_text())["metrics"]
    metrics_one = json.loads((tmp_path / "one.json").read_text())["metrics"]
    for method in ("msp", "gaia_z", "react"):
        assert metrics_two[method]["noise"] == pytest.approx(metrics_one[method]["noise"], abs=1e-9)


@pytest.mark.slow  # torchrun subprocesses
def test_a_single_process_reuses_what_two_processes_cached(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "gaia_core",
            *ARGS,
            "--cache-dir",
            str(cache),
            "--json",
            str(tmp_path / "two.json"),
        ],
        tmp_path,
    )
    assert len(list(cache.glob("scores/*/*/chunk-*.npz"))) == 4  # each process stored its share of each set

    def must_not_score(*args):
        raise AssertionError("scored again")

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(evaluate_module, "score_many", must_not_score)
    assert main([*ARGS, "--cache-dir", str(cache), "--json", str(tmp_path / "one.json")]) == 0
    assert _samples(tmp_path / "one.json") == _samples(tmp_path / "two.json")
