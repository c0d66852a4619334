"""The on-disk cache: keys, atomic chunk files, failures that lose nothing."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from gaia_core.evaluation.cache import STALE_TMP_SECONDS, CacheWarning, ScoreCache, cache_key, default_cache_dir


def test_key_ignores_mapping_order_but_not_values():
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key({"a": 1, "b": [1, 2]}) != cache_key({"a": 1, "b": [2, 1]})
    assert cache_key({"a": 1.0}) != cache_key({"a": 1.5})


def test_entries_differ_by_kind_and_parts(tmp_path):
    cache = ScoreCache(tmp_path)
    assert cache.entry("scores", {"x": 1}).folder != cache.entry("fit", {"x": 1}).folder
    assert cache.entry("scores", {"x": 1}).folder != cache.entry("scores", {"x": 2}).folder
    assert cache.entry("scores", {"x": 1}).folder == ScoreCache(tmp_path).entry("scores", {"x": 1}).folder


def test_chunks_round_trip_without_pickle_and_leave_no_temporary_files(tmp_path):
    entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
    arrays = {"index": np.arange(3), "sample_id": np.array(["a", "b", "c"]), "score|msp": np.ones(3, np.float32)}
    entry.save_chunk("0000000000-abc", arrays)
    entry.save_chunk("0000000003-def", {**arrays, "index": np.arange(3, 6)})
    chunks = entry.load_chunks()
    assert [list(c["index"]) for c in chunks] == [[0, 1, 2], [3, 4, 5]]
    assert list(chunks[0]["sample_id"]) == ["a", "b", "c"] and chunks[0]["score|msp"].dtype == np.float32
    assert sorted(p.name for p in entry.folder.iterdir()) == [
        "chunk-0000000000-abc.npz",
        "chunk-0000000003-def.npz",
        "key.json",
    ]


def test_object_arrays_are_refused_rather_than_pickled(tmp_path):
    entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
    with pytest.raises(ValueError):
        entry.save_chunk("bad", {"objects": np.array([{"a": 1}], dtype=object)})
    assert not list(entry.folder.glob("*.npz")) and not list(entry.folder.glob(".*tmp"))


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
    entry.save_chunk("c", {"index": np.arange(2)})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        entry.save_chunk("c", {"index": np.arange(5)})
    assert [list(c["index"]) for c in entry.load_chunks()] == [[0, 1]]
    assert not list(entry.folder.glob(".*tmp"))


def test_unreadable_chunk_is_ignored_with_a_warning(tmp_path):
    entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
    entry.save_chunk("good", {"index": np.arange(2)})
    (entry.folder / "chunk-zz-broken.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.warns(CacheWarning, match="chunk-zz-broken"):
        chunks = entry.load_chunks()
    assert len(chunks) == 1


def test_json_documents_round_trip(tmp_path):
    entry = ScoreCache(tmp_path).entry("fit", {"x": 1})
    assert entry.load_json("fitted") is None
    entry.save_json("fitted", {"react": {"threshold": 1.25}})
    assert entry.load_json("fitted") == {"react": {"threshold": 1.25}}


def test_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GAIA_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert ScoreCache().root == tmp_path / "c"
    monkeypatch.delenv("GAIA_CACHE_DIR")
    assert default_cache_dir().parts[-3:] == (".cache", "gaia", "scores")


def test_clear_removes_everything(tmp_path):
    cache = ScoreCache(tmp_path / "root")
    cache.entry("scores", {"x": 1}).save_chunk("c", {"index": np.arange(1)})
    cache.clear()
    assert not (tmp_path / "root").exists()


def test_a_writer_killed_mid_chunk_leaves_a_tmp_file_that_the_next_run_deletes(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, sys, time
        import numpy as np
        from gaia_core.evaluation import cache as c

        entry = c.ScoreCache({str(tmp_path)!r}).entry("scores", {{"x": 1}})
        entry.save_chunk("done", {{"index": np.arange(2)}})
        with c._atomic_path(entry.folder / "chunk-half.npz") as tmp:
            tmp.write_bytes(b"half a chunk")
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert writer.stdout.readline().strip() == "writing"
        entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
        assert len(list(entry.folder.glob(".chunk-half.npz.*.tmp"))) == 1  # a live writer's file is kept
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        writer.kill()
        writer.stdout.close()
    entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
    assert sorted(p.name for p in entry.folder.iterdir()) == ["chunk-done.npz", "key.json"]
    assert [list(c["index"]) for c in entry.load_chunks()] == [[0, 1]]


def test_tmp_files_untouched_for_an_hour_are_deleted_whoever_wrote_them(tmp_path):
    entry = ScoreCache(tmp_path).entry("scores", {"x": 1})
    entry.save_chunk("done", {"index": np.arange(2)})
    old, fresh = entry.folder / ".chunk-a.npz.otherhost.1.abcd.tmp", entry.folder / ".chunk-b.npz.xyz.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    hour_ago = time.time() - STALE_TMP_SECONDS - 5
    os.utime(old, (hour_ago, hour_ago))
    ScoreCache(tmp_path).entry("scores", {"x": 1})
    assert not old.exists() and fresh.exists()
