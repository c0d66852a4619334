"""Hostile checkpoint files: what they declare is bounded before anything is read, and every parse
failure is a `CheckpointError` naming the file. Every hostile file is built here, small on disk."""

import io
import json
import struct
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from gaia_core.models import CheckpointError, load_model, load_state_dict_into, read_state_dict, weights_fingerprint
from gaia_core.models.bit import (
    ResNetV2,
    load_bit_checkpoint,
    load_bit_npz,
    read_bit_checkpoint,
    save_bit_npz,
)
from gaia_core.models.checkpoint_bounds import MODEL_MARGIN, MODEL_SLACK, model_bytes
from gaia_core.scores import gaia_a, gaia_z

MiB = 2**20


def _write_zeros(archive: zipfile.ZipFile, name: str, nbytes: int, header: bytes = b"") -> None:
    """A deflated record of ``header`` + zeros: ``nbytes`` declared, about 1/1000 of it on disk."""
    with archive.open(name, "w", force_zip64=True) as out:
        out.write(header)
        for _ in range(nbytes // MiB):
            out.write(bytes(MiB))


def _npy_header(shape, dtype="<f4") -> bytes:
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return stream.getvalue()


def _small_bit(seed: int = 2) -> ResNetV2:
    torch.manual_seed(seed)
    model = ResNetV2(block_units=(1, 1, 2, 1), width_factor=1, num_classes=6).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


def _forbid_torch_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("torch.load was called on a file that should be refused first")

    monkeypatch.setattr(torch, "load", refuse)


# ---- item 1: declared sizes -------------------------------------------------------------------


def test_a_pt_whose_record_inflates_1000_to_1_is_refused_before_torch_reads_it(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2, 2), "bias": torch.zeros(2)}, buffer)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for record in source.infolist():
            if record.filename.endswith("/data/0"):
                _write_zeros(out, record.filename, 64 * MiB)
            else:
                out.writestr(record.filename, source.read(record))
    assert bomb.stat().st_size < 200_000
    _forbid_torch_load(monkeypatch)
    with pytest.raises(CheckpointError, match=r"refused bomb.pt: record .*data/0.* declares 67.1 MB.*bomb"):
        read_state_dict(bomb)
    with pytest.raises(CheckpointError, match="refused bomb.pt"):
        read_state_dict(bomb, model=nn.Linear(2, 2))


def test_compressed_pt_records_must_fit_the_models_size_together(tmp_path):
    model = nn.Linear(2, 2)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optim": {"m": torch.randn(5_000_000)}}, buffer)  # 20 MB, ~1:1
    packed = tmp_path / "packed.pt"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
        for record in source.infolist():
            out.writestr(record.filename, source.read(record))
    limit = int(model_bytes(model) * MODEL_MARGIN) + MODEL_SLACK
    with pytest.raises(
        CheckpointError, match=rf"refused packed.pt: it declares 20.0 MB of records, over the {limit / 1e6:.1f} MB"
    ):
        read_state_dict(packed, model=model)
    assert set(read_state_dict(packed)) == {"weight", "bias"}  # no model known: the file-size limit


def test_a_deflated_pt_of_real_weights_still_loads(tmp_path):
    model = nn.Linear(64, 32)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    packed = tmp_path / "packed.pt"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as out:
        for record in source.infolist():
            out.writestr(record.filename, source.read(record))
    state = read_state_dict(packed, model=model)
    torch.testing.assert_close(state["weight"], model.weight.detach())


def test_an_optimizer_state_beside_the_weights_is_never_read(tmp_path):
    model = nn.Linear(2, 2)
    big = torch.randn(8_000_000)  # 32 MB: over the Linear's cap of about 16.8 MB
    torch.save({"model": model.state_dict(), "optim": {"state": {0: {"momentum_buffer": big}}}}, tmp_path / "t.pt")
    state = read_state_dict(tmp_path / "t.pt", model=model)
    assert set(state) == {"weight", "bias"} and not any(v.is_meta for v in state.values())
    torch.testing.assert_close(state["weight"], model.weight.detach())
    assert state["weight"].untyped_storage().filename is None  # copied out of the memory map


def test_tensors_the_model_has_no_key_for_come_back_shape_only_and_are_explained(tmp_path):
    model = nn.Linear(2, 2)
    torch.save({**model.state_dict(), "extra": torch.randn(8_000_000)}, tmp_path / "extra.pt")
    state = read_state_dict(tmp_path / "extra.pt", model=model)
    assert state["extra"].is_meta and state["extra"].shape == (8_000_000,)
    with pytest.raises(CheckpointError, match="1 unexpected keys: extra"):
        load_state_dict_into(model, state, "extra.pt")


def test_a_needed_tensor_over_the_models_size_is_refused(tmp_path):
    model = nn.Linear(2, 2)
    save_file({"weight": torch.zeros(8_000_000), "bias": torch.zeros(2)}, tmp_path / "big.safetensors")
    with pytest.raises(CheckpointError, match="refused big.safetensors: it declares 32.0 MB of tensors"):
        read_state_dict(tmp_path / "big.safetensors", model=model)
    assert read_state_dict(tmp_path / "big.safetensors")["weight"].numel() == 8_000_000  # fits the file limit


def test_a_wrong_architecture_is_explained_not_refused_for_its_size(tmp_path):
    save_file({"weight": torch.zeros(3, 3), "other": torch.zeros(8_000_000)}, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="1 missing keys: bias. 1 unexpected keys: other. 1 shape mismatches"):
        load_state_dict_into(nn.Linear(2, 2), read_state_dict(tmp_path / "w.safetensors", model=nn.Linear(2, 2)), "w")


def _safetensors(header: dict, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    "header, data, message",
    [
        ({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 2**42]}}, b"\0" * 16, "past the end"),
        ({"w": {"dtype": "F32", "shape": [2**40], "data_offsets": [0, 16]}}, b"\0" * 16, "declares shape"),
        ({"w": {"dtype": "F99", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16, "unknown dtype"),
        ({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, b"\0" * 16, "no valid shape"),
        ({"w": [1, 2]}, b"", "not described by a JSON object"),
    ],
)
def test_safetensors_headers_that_lie_are_refused_from_the_header_alone(tmp_path, header, data, message):
    (tmp_path / "lie.safetensors").write_bytes(_safetensors(header, data))
    with pytest.raises(CheckpointError, match=rf"lie.safetensors.*{message}"):
        read_state_dict(tmp_path / "lie.safetensors")


def test_a_safetensors_header_length_beyond_the_file_is_refused(tmp_path):
    (tmp_path / "long.safetensors").write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(CheckpointError, match=r"long.safetensors is not a readable safetensors file: it declares a"):
        read_state_dict(tmp_path / "long.safetensors")


def _bit_npz_with(tmp_path, name: str, extra) -> "Path":  # noqa: F821
    """A valid small-BiT .npz plus one hostile record ``extra(archive)``."""
    save_bit_npz(_small_bit(), tmp_path / "good.npz")
    path = tmp_path / name
    with zipfile.ZipFile(tmp_path / "good.npz") as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for record in source.infolist():
            out.writestr(record.filename, source.read(record))
        extra(out)
    return path


def test_a_bit_npz_with_a_compression_bomb_member_is_refused_before_any_array_is_read(tmp_path, monkeypatch):
    path = _bit_npz_with(
        tmp_path, "bomb.npz", lambda out: _write_zeros(out, "junk.npy", 64 * MiB, _npy_header([16 * MiB]))
    )
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("an array was read"))
    with pytest.raises(CheckpointError, match=r"refused bomb.npz: record 'junk.npy' declares 67.1 MB.*bomb"):
        load_bit_npz(_small_bit(), path)


def test_a_npy_header_declaring_4_tb_is_a_clear_refusal_not_a_memory_error(tmp_path):
    path = _bit_npz_with(tmp_path, "huge.npz", lambda out: out.writestr("junk.npy", _npy_header([2**40]) + b"\0" * 64))
    with pytest.raises(
        CheckpointError, match=r"refused huge.npz: junk.npy declares shape \(1099511627776,\) \(4398046.5 MB\)"
    ):
        load_bit_npz(_small_bit(), path)


def test_a_needed_bit_record_of_the_wrong_size_is_refused_from_its_header(tmp_path, monkeypatch):
    save_bit_npz(_small_bit(), tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["resnet/head/conv2d/kernel"] = np.zeros((1, 1, 2048, 1000), np.float32)
    np.savez(tmp_path / "other.npz", **arrays)
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("an array was read"))
    with pytest.raises(
        CheckpointError, match=r"other.npz: BiT weight resnet/head/conv2d/kernel has shape \(1, 1, 2048, 1000\)"
    ):
        load_bit_npz(_small_bit(), tmp_path / "other.npz")


# ---- item 2: every parse failure is a CheckpointError naming the file ---------------------------


def _npz_bytes(**arrays) -> bytes:
    stream = io.BytesIO()
    np.savez(stream, **arrays)
    return stream.getvalue()


PASSWD = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
KEY = "resnet/group_norm/gamma"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.safetensors", b"", "empty"),
        ("short.safetensors", b"\x05\x00", "too short"),
        ("text.safetensors", b"hello, this is not a tensor file at all", "not a readable safetensors"),
        ("notes.pt", b"just some text\n", "not a readable PyTorch checkpoint"),
        ("passwd.pt", PASSWD, "not a readable PyTorch checkpoint"),
        ("empty.pt", b"", "empty"),
        ("broken.pt", b"PK\x03\x04broken zip", "not a readable"),
        ("other.zip.pt", _npz_bytes(a=np.zeros(2)), "not a PyTorch checkpoint"),
    ],
)
def test_an_untrusted_file_that_does_not_parse_is_a_checkpoint_error_naming_it(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"{name}.*{message}"):
        read_state_dict(tmp_path / name)
    with pytest.raises(CheckpointError, match=name):
        load_model("demo", tmp_path / name, device="cpu")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.npz", b"", "empty"),
        ("corrupt.npz", b"PK\x03\x04 this is not a zip archive", "not a readable zip archive"),
        ("text.npz", PASSWD, "not a readable zip archive"),
        ("strings.npz", _npz_bytes(**{KEY: np.array(["a", "b"])}), "holds text, not numbers"),
        ("records.npz", _npz_bytes(**{KEY: np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")])}), "holds records"),
        ("objects.npz", _npz_bytes(**{KEY: np.array([{"a": 1}], dtype=object)}), "holds Python objects"),
        ("bytes.npz", _npz_bytes(**{KEY: np.array([b"x"])}), "holds bytes"),
    ],
)
def test_an_untrusted_bit_npz_that_does_not_parse_is_a_checkpoint_error_naming_it(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"{name}.*{message}"):
        load_bit_npz(_small_bit(), tmp_path / name)
    with pytest.raises(CheckpointError, match=name):
        read_bit_checkpoint(tmp_path / name, _small_bit())


def test_a_truncated_bit_record_is_a_checkpoint_error(tmp_path):
    save_bit_npz(_small_bit(), tmp_path / "good.npz")
    records = {}
    with zipfile.ZipFile(tmp_path / "good.npz") as source:
        for record in source.infolist():
            records[record.filename] = source.read(record)
    key = "resnet/root_block/standardized_conv2d/kernel.npy"
    records[key] = records[key][:200]
    with zipfile.ZipFile(tmp_path / "cut.npz", "w") as out:
        for name, data in records.items():
            out.writestr(name, data)
    with pytest.raises(
        CheckpointError, match=r"refused cut.npz: resnet/root_block/standardized_conv2d/kernel.npy declares shape"
    ):
        load_bit_npz(_small_bit(), tmp_path / "cut.npz")


# ---- issue 24 item 9: NaN/Inf weights ----------------------------------------------------------


def test_nan_weights_are_refused_as_such_not_blamed_on_activations(tmp_path):
    from gaia_core.demo.model import build_demo_model

    state = {
        k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
        for k, v in build_demo_model().state_dict().items()
    }
    save_file(state, tmp_path / "nan.safetensors")
    with pytest.raises(CheckpointError, match=r"the weights contain NaN/Inf: \d+ of \d+ tensors of nan.safetensors"):
        load_model("demo", tmp_path / "nan.safetensors", device="cpu")


def test_one_inf_parameter_is_refused_but_an_inf_mask_buffer_is_not():
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 2)
            self.register_buffer("mask", torch.tensor([0.0, float("-inf")]))

    model = Masked()
    load_state_dict_into(model, model.state_dict(), "masked")
    broken = {**model.state_dict(), "linear.bias": torch.tensor([0.0, float("inf")])}
    with pytest.raises(CheckpointError, match=r"NaN/Inf: 1 of 3 tensors of masked \(linear.bias\)"):
        load_state_dict_into(model, broken, "masked")
    with pytest.raises(CheckpointError, match=r"NaN/Inf: 1 of 3 tensors of masked \(mask\)"):
        load_state_dict_into(model, {**model.state_dict(), "mask": torch.tensor([float("nan"), 0.0])}, "masked")


# ---- issue 20 item 6: the authors' BiT checkpoint (GradNorm's layout) --------------------------


def _authors_name(key: str) -> str:
    """This project's BiT key -> Google's PyTorch BiT name as GradNorm's resnetv2 holds it."""
    if key.startswith("head.gn."):
        return "before_head." + key.removeprefix("head.")
    if key.startswith("fc."):
        return "head.conv." + key.removeprefix("fc.")
    return key


def _save_gradnorm_layout(model: ResNetV2, path) -> None:
    state = {}
    for key, value in model.state_dict().items():
        value = value[:, :, None, None] if key == "fc.weight" else value  # a 1x1 conv's kernel
        state["module." + _authors_name(key)] = value.clone()
    optim = {"state": {0: {"momentum_buffer": torch.randn(10)}}, "param_groups": [{"lr": 0.003, "params": [0]}]}
    torch.save({"step": 500, "model": state, "optim": optim}, path)


def test_the_authors_gradnorm_layout_bit_checkpoint_loads_to_the_npz_weights_and_scores(tmp_path):
    source = _small_bit()
    _save_gradnorm_layout(source, tmp_path / "BiT-S-R101x1-flat-finetune.pth.tar")
    keys = set(torch.load(tmp_path / "BiT-S-R101x1-flat-finetune.pth.tar", weights_only=True)["model"])
    for key in (
        "module.root.conv.weight",
        "module.body.block1.unit01.gn1.weight",
        "module.body.block1.unit01.downsample.weight",
        "module.body.block3.unit02.conv3.weight",
        "module.before_head.gn.bias",
        "module.head.conv.weight",
        "module.head.conv.bias",
    ):
        assert key in keys
    save_bit_npz(source, tmp_path / "BiT-S-R101x1.npz")
    from_torch = load_bit_checkpoint(_small_bit(seed=9), tmp_path / "BiT-S-R101x1-flat-finetune.pth.tar")
    from_npz = load_bit_checkpoint(_small_bit(seed=8), tmp_path / "BiT-S-R101x1.npz")
    assert weights_fingerprint(from_torch) == weights_fingerprint(from_npz) == weights_fingerprint(source)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    for method in (gaia_z, gaia_a):
        assert torch.equal(method(from_torch, x).score, method(from_npz, x).score)


def test_googles_pytorch_bit_names_load_too(tmp_path):
    source = _small_bit()
    state = {("head.conv." + k[3:] if k.startswith("fc.") else k): v for k, v in source.state_dict().items()}
    state["head.conv.weight"] = state["head.conv.weight"][:, :, None, None]
    torch.save(state, tmp_path / "google.pth")
    loaded = load_bit_checkpoint(_small_bit(seed=9), tmp_path / "google.pth")
    assert weights_fingerprint(loaded) == weights_fingerprint(source)


def test_a_bit_checkpoint_of_another_class_count_is_explained(tmp_path):
    _save_gradnorm_layout(_small_bit(), tmp_path / "six.pth.tar")
    model = ResNetV2(block_units=(1, 1, 2, 1), num_classes=10)
    with pytest.raises(CheckpointError, match=r"fc.weight: checkpoint \(6, 2048\) vs model \(10, 2048\)"):
        load_bit_checkpoint(model, tmp_path / "six.pth.tar")


def test_paper_imagenet_expects_the_authors_checkpoint_first_then_googles_npz(tmp_path):
    from gaia_core.evaluation.paper import PAPER_SETTINGS, checkpoint_path, missing_files

    setting = PAPER_SETTINGS["imagenet"]
    missing = missing_files(setting, tmp_path / "data", tmp_path)
    assert missing[0] == f"{tmp_path}/BiT-S-R101x1-flat-finetune.pth.tar (or BiT-S-R101x1.npz)"
    (tmp_path / "BiT-S-R101x1.npz").write_bytes(b"x")
    assert checkpoint_path(tmp_path, setting.models[0]) == tmp_path / "BiT-S-R101x1.npz"
    assert not any("R101x1" in m for m in missing_files(setting, tmp_path / "data", tmp_path))
    (tmp_path / "BiT-S-R101x1-flat-finetune.pth.tar").write_bytes(b"x")
    assert checkpoint_path(tmp_path, setting.models[0]).name == "BiT-S-R101x1-flat-finetune.pth.tar"


@pytest.mark.slow
def test_load_model_reads_the_full_bit_from_the_authors_file_as_from_the_npz(tmp_path):
    from gaia_core.models.bit import bit_s_r101x1

    torch.manual_seed(0)
    source = bit_s_r101x1()
    _save_gradnorm_layout(source, tmp_path / "BiT-S-R101x1-flat-finetune.pth.tar")
    save_bit_npz(source, tmp_path / "BiT-S-R101x1.npz")
    from_torch = load_model("bit_s_r101x1", tmp_path / "BiT-S-R101x1-flat-finetune.pth.tar", device="cpu")
    from_npz = load_model("bit_s_r101x1", tmp_path / "BiT-S-R101x1.npz", device="cpu")
    assert weights_fingerprint(from_torch) == weights_fingerprint(from_npz) == weights_fingerprint(source)
