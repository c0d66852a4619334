"""Uploaded checkpoints: one file per content, least recently used evicted under the size cap."""

import os

from gaia_core.app_support.checkpoint_store import NAME_CHARS, STORE_ENV, cap_bytes, clean_name, evict, store_checkpoint


def _age(path, seconds_ago):
    stamp = path.stat().st_mtime - seconds_ago
    os.utime(path, (stamp, stamp))


def test_same_content_is_stored_once_and_keeps_its_suffix(tmp_path):
    first, digest = store_checkpoint(b"weights", "Model.PTH", folder=tmp_path, cap=10**6)
    again, same = store_checkpoint(b"weights", "other-name.pth", folder=tmp_path, cap=10**6)
    assert first == again and digest == same and first.suffix == ".pth"
    assert [p.name for p in tmp_path.iterdir()] == [first.name] and first.read_bytes() == b"weights"


def test_least_recently_used_files_go_first_and_the_new_one_stays(tmp_path):
    a, _ = store_checkpoint(b"a" * 40, "a.pt", folder=tmp_path, cap=100)
    b, _ = store_checkpoint(b"b" * 40, "b.pt", folder=tmp_path, cap=100)
    _age(a, 30)
    _age(b, 20)
    store_checkpoint(b"a" * 40, "a.pt", folder=tmp_path, cap=100)  # reuse: a is now the most recent
    c, _ = store_checkpoint(b"c" * 40, "c.pt", folder=tmp_path, cap=100)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([a.name, c.name])  # b was least recently used


def test_a_file_larger_than_the_cap_is_still_kept_alone(tmp_path):
    store_checkpoint(b"x" * 10, "x.pt", folder=tmp_path, cap=50)
    big, _ = store_checkpoint(b"y" * 80, "y.pt", folder=tmp_path, cap=50)
    assert [p.name for p in tmp_path.iterdir()] == [big.name]


def test_eviction_reports_what_it_deleted_and_ignores_temporary_files(tmp_path):
    (tmp_path / ".upload.partial").write_bytes(b"z" * 500)
    old = tmp_path / "old.pt"
    old.write_bytes(b"o" * 60)
    assert evict(tmp_path, cap=10) == [old]
    assert (tmp_path / ".upload.partial").exists()


def test_cap_comes_from_the_environment_in_mib(monkeypatch):
    monkeypatch.setenv(STORE_ENV, "3")
    assert cap_bytes() == 3 * 2**20
    monkeypatch.setenv(STORE_ENV, "not a number")
    assert cap_bytes() == 4096 * 2**20


def test_the_record_keeps_the_uploaded_name_beside_the_hash_and_still_unpacks(tmp_path):
    record = store_checkpoint(b"weights", "runs/My ResNet\x1b[31m.PTH", folder=tmp_path, cap=10**6)
    path, digest = record
    assert (record.path, record.digest) == (path, digest) and path.name == f"{digest}.pth"
    assert record.display_name == "My ResNet[31m.PTH"  # base name, control characters removed
    message = f"{path.name} does not fit ResNet. Is it a checkpoint of another architecture?"
    assert record.named(message) == "My ResNet[31m.PTH does not fit ResNet. Is it a checkpoint of another architecture?"
    other = store_checkpoint(b"weights", "C:\\Users\\me\\second.pt", folder=tmp_path, cap=10**6)
    assert other.display_name == "second.pt" and other.digest == digest  # one content, each upload its own name
    assert len(clean_name("x" * 500)) == NAME_CHARS
