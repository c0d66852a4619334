"""The CPU process set-up: glibc keeps freed memory in its heap once `configure_cpu_process` ran,
and only then: importing gaia_core leaves the allocator alone."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from gaia_core import device

ROOT = Path(__file__).resolve().parents[1]
glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's")

# Run in a fresh interpreter: whether glibc maps a 48 MiB block with mmap (hblks counts such blocks;
# with the defaults every block above 32 MiB is one), and whether it keeps that block once freed.
HEAP_PROBE = """
import ctypes, json
libc = ctypes.CDLL(None)
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def probe():
    before = libc.mallinfo2().hblks
    block = libc.malloc(48 << 20)
    mapped = libc.mallinfo2().hblks - before
    libc.free(block)
    return {"mapped": mapped, "kept_free_mib": libc.mallinfo2().fordblks >> 20}
"""


def _child(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", HEAP_PROBE + code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@glibc
def test_importing_gaia_core_leaves_the_allocator_at_its_defaults():
    out = _child(
        "import gaia_core, gaia_core.cli, gaia_core.device, gaia_core.scores, gaia_core.evaluation.scoring\n"
        "from gaia_core.device import cpu_process_settings\n"
        "print(json.dumps({**probe(), 'untouched': cpu_process_settings().mmap_max is None,\n"
        "                  'line': cpu_process_settings().describe()}))"
    )
    assert out["untouched"] and out["line"].endswith("malloc defaults")
    assert out["mapped"] == 1  # glibc's default: a block this large is its own mmap


@glibc
def test_configured_process_serves_large_blocks_from_the_heap_and_keeps_them_once_freed():
    out = _child(
        "from gaia_core.device import configure_cpu_process\n"
        "settings = configure_cpu_process()\n"
        "again = configure_cpu_process()\n"
        "print(json.dumps({**probe(), 'same': again is settings, 'mmap_max': settings.mmap_max,\n"
        "                  'trim': settings.trim_threshold, 'line': settings.describe()}))"
    )
    assert out["mapped"] == 0 and out["kept_free_mib"] >= 48
    assert out["same"] and out["mmap_max"] == 0 and out["trim"] == device.CPU_TRIM_THRESHOLD
    assert "M_MMAP_MAX=0" in out["line"] and "1 GiB" in out["line"]


@glibc
def test_a_thread_still_allocates_a_tensor_larger_than_its_arena_after_configuring():
    # Threads allocate from arenas whose heaps are at most 64 MiB: glibc must fall back to mmap
    # for 256 MiB even though M_MMAP_MAX is 0, not fail.
    out = _child(
        "import threading, torch\n"
        "from gaia_core.device import configure_cpu_process\n"
        "configure_cpu_process()\n"
        "sums = []\n"
        "def work():\n"
        "    for _ in range(2):\n"
        "        sums.append(float(torch.ones(64 << 20).sum()))\n"
        "thread = threading.Thread(target=work)\n"
        "thread.start(); thread.join()\n"
        "print(json.dumps({'sums': sums}))"
    )
    assert out["sums"] == [float(64 << 20)] * 2


def test_elsewhere_than_glibc_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(device, "_cpu_process", None)
    monkeypatch.setattr(device, "_glibc", lambda: None)
    settings = device.configure_cpu_process()
    assert settings == device.allocator_defaults() == device.cpu_process_settings()
    assert settings.mmap_max is None and settings.describe() == "not glibc: allocator left as it is"
