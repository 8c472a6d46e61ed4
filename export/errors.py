"""The exporter's own errors, in a module with no heavy imports (the command line catches them before torch,
onnx or onnxruntime are needed)."""

from __future__ import annotations


class ParityError(RuntimeError):
    """The exported graph does not reproduce transformers; the message says what differed."""
