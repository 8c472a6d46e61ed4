"""Streaming conversion: the model builder's own graph, one module's weights in memory at a time.

The stock builder loads the whole checkpoint through transformers, keeps every initializer alive
until it saves, and for int4/int8 serializes the complete fp32 graph to quantize it (about 65 GB of
RAM for Magicoder-S-DS-6.7B).  ``streaming_class`` wraps the builder's Llama model class so that:

* ``load_weights`` returns a skeleton on the meta device (the same classes, no memory);
* ``make_embedding``, ``make_layer``, the final ``make_layernorm`` and ``make_lm_head`` first read that
  module's tensors from the checkpoint (``checkpoint.Checkpoint``, positioned reads), cast them to
  the dtype ``from_pretrained`` would use, let the builder's unchanged code run on them, then
  **flush**: quantizable MatMuls are quantized on the spot by onnxruntime's quantizer
  (``quant_capture``), every new initializer is written to the spill file and replaced by a
  reference to it, and the module goes back to the meta device;
* ``to_nbits`` replays the captured quantization over the reference-only graph, and the builder's
  own ``save_model`` copies the spilled bytes into ``model.onnx.data``.

The output is byte-identical to the stock builder's (tests/test_export_streaming.py compares
sha256 sums).  This relies on onnxruntime-genai 0.18.0's internals (those four methods being the
only consumers of weights, the DEFAULT int4 path of ``to_nbits``): the version is pinned and the
byte-identity test guards it.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import onnx_ir as ir
import torch

from . import progress
from .module_loader import ModuleLoader, trim_heap
from .preflight import streaming_gap as streaming_gap  # re-exported: where the converter's callers look
from .quant_capture import QuantCapture
from .spill import Spill

log = logging.getLogger("magicoder-export")

SPILL_NAME = "streamed-initializers.data"


class StreamingUnsupported(ValueError):
    """An option the streaming converter does not reproduce exactly; the stock builder handles it."""


def streaming_class(base_cls):
    """A subclass of the builder's model class ``base_cls`` that converts module by module."""

    class StreamingModel(base_cls):
        def __init__(self, config: Any, io_dtype: Any, onnx_dtype: Any, ep: str, cache_dir: str, extra_options: dict):
            super().__init__(config, io_dtype, onnx_dtype, ep, cache_dir, extra_options)
            self.streaming_check()
            self.spill = Spill(Path(cache_dir) / SPILL_NAME)
            self.capture = QuantCapture(self.quantizer_args(), self.model, self.spill) if self.quantizes() else None
            self.loader: ModuleLoader | None = None
            self.flushed: set[str] = set()
            self.seen_nodes: set[str] = set()
            self.depth = 0

        # -- what this class reproduces exactly -------------------------------------------------
        def quantizes(self) -> bool:
            """Whether the stock ``save_model`` would call ``to_nbits`` (pre-quantized checkpoints are refused)."""
            return self.onnx_dtype in {ir.DataType.INT4, ir.DataType.UINT4, ir.DataType.INT8, ir.DataType.UINT8}

        def streaming_check(self) -> None:
            reasons = []
            if self.quant_type is not None:
                reasons.append("a pre-quantized checkpoint")
            if getattr(self, "quantization_algo", "default") != "default":
                reasons.append(f"the {self.quantization_algo} quantization method")
            if getattr(self, "int4_customized_weight_config", None) or getattr(self, "exact_quant_overrides", None):
                reasons.append("per-node quantization overrides")
            if self.matmul_attrs.get("weights_prepacked", 0):
                reasons.append("offline weight prepacking")
            if "adapter_path" in self.extra_options:
                reasons.append("LoRA adapters")
            if reasons:
                raise StreamingUnsupported("streaming conversion does not cover " + ", ".join(reasons))

        def quantizer_args(self) -> dict:
            """What the stock ``to_nbits`` passes to MatMulNBitsQuantizer (DEFAULT method, no overrides)."""
            from onnxruntime.quantization.quant_utils import QuantFormat

            return dict(
                bits=self.quant_attrs["bits"],
                block_size=self.quant_attrs["matmul_block_size"],
                is_symmetric=self.quant_attrs["is_symmetric"],
                accuracy_level=self.quant_attrs["accuracy_level"],
                nodes_to_exclude=list(self.quant_attrs["nodes_to_exclude"]),
                quant_format=QuantFormat.QDQ if self.quant_attrs["use_qdq"] else QuantFormat.QOperator,
                op_types_to_quantize=self.quant_attrs["op_types_to_quantize"],
                algo_config=None,
            )

        # -- weights ------------------------------------------------------------------------------
        def load_weights(self, input_path):
            self.loader = ModuleLoader.open(Path(input_path))
            log.info("[convert] streaming %s (%s) module by module", self.loader.checkpoint.describe, self.loader.dtype)
            return self.loader.skeleton

        @contextlib.contextmanager
        def loaded(self, module: torch.nn.Module):
            """``module`` with its weights for the block; the outermost block flushes what it built."""
            assert self.loader is not None, "load_weights runs first"
            self.depth += 1
            try:
                with self.loader.loaded(module):
                    yield module
                    if self.depth == 1:
                        self.flush()
            finally:
                self.depth -= 1
                if self.depth == 0:
                    trim_heap()

        def flush(self) -> None:
            """Quantize the new quantizable nodes, then move every new initializer to the spill file."""
            graph = self.model.graph
            for node in graph:
                if node.name in self.seen_nodes:
                    continue
                self.seen_nodes.add(node.name)
                if self.capture is not None and self.capture.wants(node):
                    self.capture.quantize(node, graph)
            for name, value in graph.initializers.items():
                if name in self.flushed:
                    continue
                self.flushed.add(name)
                if not isinstance(value.const_value, ir.ExternalTensor):
                    value.const_value = self.spill.external(value.const_value)

        # -- the builder's weight consumers -------------------------------------------------------------
        def make_embedding(self, embedding):
            module, leaf = self.loader.owner(embedding)
            with self.loaded(module):
                super().make_embedding(getattr(module, leaf))
            progress.step("convert", 1, self.num_layers + 3, "modules", "embedding")

        def make_layer(self, layer_id, layer):
            with self.loaded(layer):
                super().make_layer(layer_id, layer)
            log.info(
                "[convert] layer %d of %d (%.2f GB written so far)",
                layer_id + 1,
                self.num_layers,
                self.spill.bytes / 1e9,
            )
            # The embedding comes before the layers, the LM head and the save after them: a step each.
            progress.step(
                "convert", layer_id + 2, self.num_layers + 3, "modules", f"layer {layer_id + 1} of {self.num_layers}"
            )

        def make_layernorm(self, layer_id, layernorm, skip, simple, location):
            with self.loaded(layernorm):
                super().make_layernorm(layer_id, layernorm, skip, simple, location)

        def make_lm_head(self, lm_head):
            with self.loaded(lm_head):
                super().make_lm_head(lm_head)
            progress.step("convert", self.num_layers + 2, self.num_layers + 3, "modules", "LM head")

        # -- saving -------------------------------------------------------------------------------
        def to_nbits(self):
            model_proto = self.capture.replay(ir.to_proto(self.model))
            self.prepack_matmulnbits_weights(model_proto)  # a no-op here: prepacking is refused above
            model = ir.from_proto(model_proto)
            ir.external_data.set_base_dir(model.graph, self.spill.path.parent)
            if self.capture.late:
                log.info("[quantize] %d node(s) quantized at save time", self.capture.late)
            return model

        def save_model(self, out_dir):
            progress.step("convert", self.num_layers + 2, self.num_layers + 3, "modules", "saving model.onnx")
            self.flush()  # what the post-processing nodes added
            self.spill.flush()
            if self.loader is not None:
                self.loader.close()
            try:
                super().save_model(out_dir)
            finally:
                self.spill.remove()

    StreamingModel.__name__ = f"Streaming{base_cls.__name__}"
    return StreamingModel
