"""A Hugging Face checkpoint read one tensor at a time: safetensors (single or sharded) or PyTorch .bin shards.

The streaming converter and the layer-by-layer parity reference never hold the whole model: they
ask this reader for one module's tensors, use them and drop them.  safetensors files are read with
positioned reads of the byte ranges their header names (``safe_open`` memory-maps the file, and the
pages it touches stay in the process's resident set until the mapping closes: for a 13 GB
checkpoint the whole file).  Every header is checked when the checkpoint is opened, so a truncated
or corrupt shard, or a shard the index names but the folder lacks, is reported before any work
starts, naming the file.  ``.bin`` shards are opened with ``torch.load(mmap=True)``, one shard at a
time.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import json
import math
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import torch

SAFETENSORS_INDEX = "model.safetensors.index.json"
SAFETENSORS_SINGLE = "model.safetensors"
BIN_INDEX = "pytorch_model.bin.index.json"
BIN_SINGLE = "pytorch_model.bin"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
MADV_DONTNEED = 4  # Linux

DTYPES = {
    "BOOL": torch.bool,
    "U8": torch.uint8,
    "I8": torch.int8,
    "I16": torch.int16,
    "I32": torch.int32,
    "I64": torch.int64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F32": torch.float32,
    "F64": torch.float64,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}


class CheckpointError(ValueError):
    """The checkpoint is incomplete or damaged; the message names the file and what to do."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives: its file and, for safetensors, the absolute byte range of its data."""

    file: Path
    dtype: torch.dtype
    shape: tuple[int, ...]
    start: int = 0
    end: int = 0


def _redownload(path: Path) -> str:
    return f"delete {path.name} and download it again (the Hugging Face download resumes where it stopped)"


def read_safetensors_header(path: Path) -> dict[str, TensorEntry]:
    """Parse and check one .safetensors file's header: every tensor's range must lie inside the file."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path} is truncated ({size} bytes, no safetensors header): {_redownload(path)}")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER_BYTES or 8 + length > size:
                raise CheckpointError(f"{path} has a damaged safetensors header (length {length}): {_redownload(path)}")
            raw = f.read(length)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} has a damaged safetensors header ({exc}): {_redownload(path)}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a damaged safetensors header: {_redownload(path)}")
    base = 8 + length
    entries = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        entries[name] = _checked_entry(path, name, spec, base, size)
    return entries


def _checked_entry(path: Path, name: str, spec: object, base: int, size: int) -> TensorEntry:
    try:
        dtype = DTYPES[spec["dtype"]]  # type: ignore[index]
        shape = tuple(int(d) for d in spec["shape"])  # type: ignore[index]
        begin, end = (int(x) for x in spec["data_offsets"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: tensor {name} has an unreadable or unsupported entry {spec!r}") from exc
    expected = math.prod(shape) * dtype.itemsize
    if end - begin != expected or begin < 0:
        raise CheckpointError(
            f"{path}: tensor {name} claims {end - begin} bytes for shape {list(shape)} of {spec['dtype']} "  # type: ignore[index]
            f"({expected} expected): the file is damaged, {_redownload(path)}"
        )
    if base + end > size:
        raise CheckpointError(
            f"{path} is truncated: tensor {name} needs bytes up to {base + end}, the file has {size}; "
            f"{_redownload(path)}"
        )
    return TensorEntry(path, dtype, shape, base + begin, base + end)


def _index(path: Path) -> dict[str, str]:
    try:
        weight_map = json.loads(path.read_text(encoding="utf-8"))["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint index ({exc})") from exc
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"{path} names no tensors")
    return weight_map


def _shards(folder: Path, index: Path, single: Path) -> tuple[dict[str, str], list[Path]] | None:
    """(tensor -> shard file name, shard paths) from the index, or the single file; None if neither exists."""
    if index.is_file():
        weight_map = _index(index)
        shards = sorted({folder / f for f in weight_map.values()})
        missing = [p.name for p in shards if not p.is_file()]
        if missing:
            raise CheckpointError(
                f"{index} names {len(missing)} shard(s) missing from {folder}: {', '.join(missing)}; "
                "download them (the Hugging Face download resumes where it stopped)"
            )
        return weight_map, shards
    if single.is_file():
        return {}, [single]
    return None


class Checkpoint(abc.ABC):
    """The tensors of a checkpoint folder, by name; ``read`` returns one tensor the caller owns."""

    def __init__(self, entries: dict[str, TensorEntry], describe: str):
        self.entries = entries
        self.describe = describe

    @classmethod
    def open(cls, folder: Path) -> Checkpoint:
        folder = Path(folder)
        found = _shards(folder, folder / SAFETENSORS_INDEX, folder / SAFETENSORS_SINGLE)
        if found is not None:
            return SafetensorsCheckpoint.from_shards(*found)
        found = _shards(folder, folder / BIN_INDEX, folder / BIN_SINGLE)
        if found is not None:
            return BinCheckpoint.from_shards(*found)
        raise CheckpointError(
            f"{folder} holds no {SAFETENSORS_SINGLE}, {SAFETENSORS_INDEX}, {BIN_SINGLE} or {BIN_INDEX}"
        )

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def entry(self, name: str) -> TensorEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise CheckpointError(f"the checkpoint ({self.describe}) has no tensor {name}") from None

    @abc.abstractmethod
    def read(self, name: str) -> torch.Tensor:
        """The tensor ``name`` in its stored dtype (CheckpointError when it cannot be read)."""

    def floating_dtype(self) -> torch.dtype | None:
        """The dtype of the first floating-point tensor (what transformers assumes for the whole model)."""
        for entry in self.entries.values():
            if entry.dtype.is_floating_point:
                return entry.dtype
        return None

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the reader holds open."""


class SafetensorsCheckpoint(Checkpoint):
    def close(self) -> None:
        """Nothing to release: every read opens and closes its file."""

    @classmethod
    def from_shards(cls, weight_map: dict[str, str], shards: list[Path]) -> SafetensorsCheckpoint:
        entries: dict[str, TensorEntry] = {}
        for shard in shards:
            entries.update(read_safetensors_header(shard))
        for name, file in weight_map.items():
            if name not in entries or entries[name].file.name != Path(file).name:
                raise CheckpointError(f"the index names {name} in {file}, but that file does not hold it")
        folder = shards[0].parent
        return cls(entries, f"{len(shards)} safetensors file(s) in {folder}")

    def read(self, name: str) -> torch.Tensor:
        entry = self.entry(name)
        buf = bytearray(entry.end - entry.start)
        view = memoryview(buf)
        try:
            with open(entry.file, "rb", buffering=0) as f:
                done = 0
                while done < len(buf):
                    n = os.preadv(f.fileno(), [view[done:]], entry.start + done)
                    if n == 0:
                        raise CheckpointError(
                            f"{entry.file} is truncated while reading {name}: {_redownload(entry.file)}"
                        )
                    done += n
        except OSError as exc:
            raise CheckpointError(f"cannot read {name} from {entry.file}: {exc.strerror or exc}") from exc
        if not buf:
            return torch.empty(entry.shape, dtype=entry.dtype)
        return torch.frombuffer(buf, dtype=entry.dtype).reshape(entry.shape)


class BinCheckpoint(Checkpoint):
    """PyTorch pickles: each shard memory-mapped by ``torch.load(mmap=True)``, one shard open at a time."""

    def __init__(self, entries: dict[str, TensorEntry], describe: str):
        super().__init__(entries, describe)
        self._open: tuple[Path, dict] | None = None

    @classmethod
    def from_shards(cls, weight_map: dict[str, str], shards: list[Path]) -> BinCheckpoint:
        entries: dict[str, TensorEntry] = {}
        for shard in shards:
            for name, tensor in _load_bin(shard).items():
                entries[name] = TensorEntry(shard, tensor.dtype, tuple(tensor.shape))
        for name, file in weight_map.items():
            if name not in entries:
                raise CheckpointError(f"the index names {name} in {file}, but that file does not hold it")
        return cls(entries, f"{len(shards)} PyTorch .bin file(s) in {shards[0].parent}")

    def read(self, name: str) -> torch.Tensor:
        entry = self.entry(name)
        if self._open is None or self._open[0] != entry.file:
            self._open = None
            self._open = (entry.file, _load_bin(entry.file))
        mapped = self._open[1][name]
        tensor = mapped.clone()
        _drop_pages(mapped)
        return tensor

    def close(self) -> None:
        self._open = None


def _drop_pages(tensor: torch.Tensor) -> None:
    """Let the kernel drop the file pages a memory-mapped tensor was read through (they count as resident
    until the mapping closes; dropping is harmless: the file is never written, pages are re-read on demand)."""
    length = tensor.numel() * tensor.element_size()
    if length == 0:
        return
    page = mmap.PAGESIZE
    start = tensor.data_ptr() // page * page
    end = -(-(tensor.data_ptr() + length) // page) * page
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_DONTNEED)


def _load_bin(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as exc:  # a truncated zip, a pickle that is not a state dict, an unreadable file
        raise CheckpointError(f"cannot read {path} as a PyTorch checkpoint ({exc}): {_redownload(path)}") from exc
    if not isinstance(state, dict) or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise CheckpointError(f"{path} is not a state dict of tensors")
    return state
