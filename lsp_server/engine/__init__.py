"""The inference engine: reads a model folder (manifest.json + ONNX graph + tokenizer), knows nothing of LSP.

Public: the names below, imported on first use (PEP 562), so that reading a manifest or holding an
engine through its interface (api.py) does not load onnxruntime; and the modules ``api`` (the
interface), ``manifest`` (the contract with the exporter) and ``gate`` (the folder's parity status).
The exporter drives the decoder directly through ``DecoderSession`` and ``TextTokenizer``, and asks
``cuda_works`` where its parity check can run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import BUILD_HINT, CancelToken, EngineError, GenerationResult, InferenceEngine, ModelNotFoundError
    from .device import cuda_works
    from .engine import Engine
    from .gate import GateStatus
    from .manifest import Manifest, ManifestError
    from .sampling import GREEDY, Sampling
    from .session import DecoderSession
    from .tokenizer import TextTokenizer

PUBLIC_MODULES = ("api", "manifest", "gate")

# name -> the module that defines it
_LAZY = {
    "BUILD_HINT": "api",
    "CancelToken": "api",
    "EngineError": "api",
    "GenerationResult": "api",
    "InferenceEngine": "api",
    "ModelNotFoundError": "api",
    "GateStatus": "gate",
    "Manifest": "manifest",
    "ManifestError": "manifest",
    "GREEDY": "sampling",
    "Sampling": "sampling",
    "TextTokenizer": "tokenizer",
    "Engine": "engine",  # onnxruntime from here on
    "DecoderSession": "session",
    "cuda_works": "device",
}

__all__ = [
    "BUILD_HINT",
    "GREEDY",
    "CancelToken",
    "DecoderSession",
    "Engine",
    "EngineError",
    "GateStatus",
    "GenerationResult",
    "InferenceEngine",
    "Manifest",
    "ManifestError",
    "ModelNotFoundError",
    "Sampling",
    "TextTokenizer",
    "cuda_works",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
