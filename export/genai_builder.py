"""The onnxruntime-genai model builder, with Llama's linear RoPE scaling fixed.

onnxruntime-genai 0.18.0's ``LlamaModel.make_rope_init`` handles only ``llama3`` scaling and
never calls the base class, so Magicoder's ``linear x4`` scaling is silently dropped (prefill
logits differ by ~5e-2 and greedy tokens diverge within a few steps).  The base ``Model`` class
implements linear scaling correctly; we subclass ``LlamaModel`` to fall back to it and hand the
subclass to the builder's ``create_model`` for the duration of one export.  The installed package
is not edited.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from .options import PRECISIONS, TARGETS
from .streaming import streaming_class

log = logging.getLogger(__name__)


def _builder_module():
    # The builder's package puts its own folder on sys.path and imports siblings as top-level modules.
    with contextlib.redirect_stdout(sys.stderr):
        from onnxruntime_genai.models import builder
    return builder


def fixed_llama_class(builder):
    """A LlamaModel whose RoPE init falls back to the base class for non-llama3 scaling."""
    llama_cls = builder.LlamaModel
    base_cls = llama_cls.__mro__[1]

    class LinearRopeLlamaModel(llama_cls):
        def make_rope_init(self, config):
            params = getattr(config, "rope_parameters", None)
            if isinstance(params, dict) and params.get("rope_type", "default") != "llama3":
                base_cls.make_rope_init(self, config)
            else:
                super().make_rope_init(config)

    return LinearRopeLlamaModel


@contextlib.contextmanager
def _patched_llama(builder, fix_rope: bool, streaming: bool):
    original = builder.LlamaModel
    cls = fixed_llama_class(builder) if fix_rope else original
    builder.LlamaModel = streaming_class(cls) if streaming else cls
    try:
        yield
    finally:
        builder.LlamaModel = original


def build_onnx(
    hf_dir: Path,
    out_dir: Path,
    precision: str = "fp32",
    target: str = "cpu",
    cache_dir: Path | None = None,
    extra: dict[str, str] | None = None,
    fix_rope: bool = True,
    streaming: bool = True,
) -> Path:
    """Run the builder on a local Hugging Face folder; returns the folder with model.onnx.

    ``streaming`` converts module by module (``export/streaming.py``; byte-identical output, a small
    constant memory peak); ``False`` runs the stock builder, which holds the whole model in memory.
    ``fix_rope=False`` reproduces the upstream bug (used by tests to prove the parity gate catches it).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    builder = _builder_module()
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = cache_dir or out_dir / ".cache"
    options = [f"{k}={v}" for k, v in (extra or {}).items()]
    with contextlib.redirect_stdout(sys.stderr):
        kv = builder.parse_extra_options(
            str(hf_dir), str(hf_dir), str(out_dir), precision, target, str(cache_dir), options
        )
        with _patched_llama(builder, fix_rope, streaming):
            builder.create_model(str(hf_dir), str(hf_dir), str(out_dir), precision, target, str(cache_dir), **kv)
    if not (out_dir / "model.onnx").is_file():
        raise RuntimeError(f"the model builder wrote no model.onnx into {out_dir}")
    return out_dir
