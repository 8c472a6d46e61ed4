"""The spill file: initializers written to disk the moment a module is converted.

The model builder keeps every initializer it makes in memory until it saves the graph (for int4,
it then serializes the whole fp32 graph once more to quantize it).  The streaming converter instead
appends each finished initializer's bytes to one file and leaves an ``ir.ExternalTensor`` pointing
at them in the graph; the builder's own save then copies them into ``model.onnx.data``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import onnx_ir as ir
from onnx import TensorProto

from .checkpoint import CheckpointError


def as_shape(shape: ir.ShapeProtocol) -> ir.Shape:
    """An ``ir.Shape`` for any shape a tensor reports (the same object when it is one)."""
    if isinstance(shape, ir.Shape):
        return shape
    return ir.Shape([d if isinstance(d, int) else d.value for d in shape])


class DiskFullError(OSError):
    """No space left while writing the export; the message names the folder."""


class Spill:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")
        self.bytes = 0

    def _append(self, data) -> int:
        offset = self.bytes
        try:
            self._file.write(data)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFullError(
                    errno.ENOSPC, f"no space left on the device holding {self.path.parent} while writing the export"
                ) from exc
            raise
        self.bytes += len(data)
        return offset

    def external(self, tensor: ir.TensorProtocol) -> ir.ExternalTensor:
        """Write ``tensor``'s bytes (evaluating a lazy tensor once) and return a reference to them."""
        assert tensor.name is not None, "initializers are named"
        data = tensor.tobytes()
        offset = self._append(data)
        return ir.ExternalTensor(
            self.path.name,
            offset,
            len(data),
            tensor.dtype,
            shape=as_shape(tensor.shape),
            name=tensor.name,
            doc_string=tensor.doc_string,
            metadata_props=dict(tensor.metadata_props),
            base_dir=self.path.parent,
        )

    def externalize_proto(self, proto: TensorProto) -> None:
        """Move a TensorProto's raw data into the spill file, in place (it becomes an external reference)."""
        if not proto.HasField("raw_data"):
            raise ValueError(f"tensor {proto.name} has no raw data to spill")
        offset = self._append(proto.raw_data)
        length = len(proto.raw_data)
        proto.ClearField("raw_data")
        proto.data_location = TensorProto.EXTERNAL
        del proto.external_data[:]
        for key, value in (("location", self.path.name), ("offset", str(offset)), ("length", str(length))):
            entry = proto.external_data.add()
            entry.key, entry.value = key, value

    def inline_proto(self, proto: TensorProto) -> None:
        """The reverse of ``externalize_proto``: read the bytes back into the proto."""
        info = {e.key: e.value for e in proto.external_data}
        if info.get("location") != self.path.name:
            raise CheckpointError(f"tensor {proto.name} is not in the spill file {self.path}")
        with open(self.path, "rb") as f:
            raw = os.pread(f.fileno(), int(info["length"]), int(info["offset"]))
        del proto.external_data[:]
        proto.data_location = TensorProto.DEFAULT
        proto.raw_data = raw

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
