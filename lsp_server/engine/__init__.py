"""The inference engine: reads a model folder (manifest.json + ONNX graph + tokenizer), knows nothing of LSP."""

from .engine import BUILD_HINT, Engine, ModelNotFoundError
from .gate import GateStatus
from .generate import CancelToken, GenerationResult
from .manifest import Manifest, ManifestError
from .sampling import GREEDY, Sampling
from .session import EngineError

__all__ = [
    "BUILD_HINT",
    "CancelToken",
    "Engine",
    "EngineError",
    "GateStatus",
    "GREEDY",
    "Sampling",
    "GenerationResult",
    "Manifest",
    "ManifestError",
    "ModelNotFoundError",
]
