"""Damaged checkpoints, a full disk and Ctrl-C: a clear error naming the file, nothing half-written left behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from export import spill
from export.checkpoint import Checkpoint, CheckpointError
from export.cli import main as export_main
from tests.helpers.checkpoint_layouts import bf16_sharded
from tests.helpers.paths import ROOT

SENTINEL = "previous-export.txt"


@pytest.fixture(scope="module")
def sharded(tiny_model: Path, tmp_path_factory) -> Path:
    return bf16_sharded(tiny_model / "hf", tmp_path_factory.mktemp("ckpt") / "bf16")


@pytest.fixture
def damaged(sharded: Path, tmp_path: Path) -> Path:
    """A private copy of the sharded checkpoint, to damage."""
    return Path(shutil.copytree(sharded, tmp_path / "ckpt"))


@pytest.fixture
def output(tmp_path: Path) -> Path:
    """An output folder holding a previous good export (a sentinel file stands for it)."""
    out = tmp_path / "model"
    out.mkdir()
    (out / SENTINEL).write_text("keep me")
    return out


def build(ckpt: Path, out: Path) -> int:
    return export_main(
        [
            "build",
            str(ckpt),
            "--output",
            str(out),
            "--precision",
            "int4",
            "--parity-tokens",
            "4",
            "--fidelity-tokens",
            "16",
            "--skip-resource-checks",
        ]
    )


def assert_nothing_lost(out: Path) -> None:
    assert (out / SENTINEL).read_text() == "keep me"
    assert not (out / "manifest.json").exists()
    assert not out.with_name(f".{out.name}.partial").exists()


def shard(ckpt: Path, n: int) -> Path:
    return next(ckpt.glob(f"model-0000{n}-of-*.safetensors"))


def rewrite_tensor(ckpt: Path, change) -> str:
    """Replace the first tensor of shard 2 by change(tensor); returns its name."""
    path = shard(ckpt, 2)
    tensors = load_file(path)
    name = sorted(tensors)[0]
    tensors[name] = change(tensors[name])
    save_file(tensors, path, metadata={"format": "pt"})
    return name


def test_the_reader_returns_the_checkpoints_tensors(sharded: Path):
    ckpt = Checkpoint.open(sharded)
    for path in sharded.glob("model-*.safetensors"):
        for name, tensor in load_file(path).items():
            read = ckpt.read(name)
            assert read.dtype == tensor.dtype == torch.bfloat16 and torch.equal(read, tensor)
    assert ckpt.floating_dtype() == torch.bfloat16


def test_a_truncated_shard_is_named(damaged: Path, output: Path, caplog):
    path = shard(damaged, 2)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 1000)
    with pytest.raises(CheckpointError, match=f"{path.name} is truncated"):
        Checkpoint.open(damaged)
    assert build(damaged, output) == 2
    assert f"{path} is truncated" in caplog.text and "download it again" in caplog.text
    assert_nothing_lost(output)


def test_a_corrupt_header_is_named(damaged: Path, output: Path, caplog):
    path = shard(damaged, 1)
    with open(path, "r+b") as f:
        f.seek(8)
        f.write(b"\x00garbage")
    assert build(damaged, output) == 2
    assert f"{path} has a damaged safetensors header" in caplog.text
    assert_nothing_lost(output)


def test_a_shard_missing_from_the_folder_is_named(damaged: Path, output: Path, caplog):
    shard(damaged, 3).unlink()
    assert build(damaged, output) == 2
    assert "model.safetensors.index.json names 1 shard(s) missing" in caplog.text
    assert "model-00003-of-00003.safetensors" in caplog.text
    assert_nothing_lost(output)


def test_a_tensor_of_the_wrong_shape_is_named(damaged: Path, output: Path, caplog):
    name = rewrite_tensor(damaged, lambda t: t.reshape(-1)[: t.numel() // 2].clone())
    assert build(damaged, output) == 2
    assert f"tensor {name} has shape" in caplog.text and "do not match" in caplog.text
    assert shard(damaged, 2).name in caplog.text
    assert_nothing_lost(output)


def test_a_tensor_of_the_wrong_dtype_is_named(damaged: Path, output: Path, caplog):
    name = rewrite_tensor(damaged, lambda t: t.to(torch.int32))
    assert build(damaged, output) == 2
    assert f"tensor {name} is torch.int32, not a floating-point weight" in caplog.text
    assert_nothing_lost(output)


class FullDisk:
    """A spill file on a disk that fills up after ``room`` bytes."""

    def __init__(self, path, room: int):
        self.file, self.room = open(path, "wb"), room
        self.closed = False

    def write(self, data):
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.file.write(data)

    def flush(self):
        self.file.flush()

    def close(self):
        self.closed = True
        self.file.close()


def test_a_full_disk_mid_write_stops_the_export_cleanly(sharded: Path, output: Path, monkeypatch, caplog):
    real_init = spill.Spill.__init__

    def init(self, path):
        real_init(self, path)
        self._file.close()
        self._file = FullDisk(path, room=2_000_000)

    monkeypatch.setattr(spill.Spill, "__init__", init)
    assert build(sharded, output) == 2
    assert "no space left on the device holding" in caplog.text
    assert f"removed the unfinished export {output.with_name('.model.partial')}" in caplog.text
    assert_nothing_lost(output)


def test_ctrl_c_mid_export_removes_the_partial_folder(sharded: Path, output: Path):
    command = [
        sys.executable,
        "-m",
        "export.cli",
        "build",
        str(sharded),
        "--output",
        str(output),
        "--precision",
        "int4",
        "--skip-resource-checks",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None  # stderr=PIPE
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "[convert] layer 1 of" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted" in rest and "removed the unfinished export" in rest
    assert_nothing_lost(output)


def test_a_passing_export_replaces_the_previous_one(sharded: Path, output: Path):
    assert build(sharded, output) == 0
    assert (
        not (output / SENTINEL).exists() and json.loads((output / "manifest.json").read_text())["precision"] == "int4"
    )
    assert not output.with_name(".model.old").exists() and not output.with_name(".model.partial").exists()
