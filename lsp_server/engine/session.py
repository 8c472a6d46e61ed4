"""One forward pass of the exported decoder over onnxruntime, with its KV cache."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .manifest import KV_SHARED_BUFFER, Manifest

log = logging.getLogger(__name__)

_NP_DTYPES = {"float32": np.float32, "float16": np.float16}


class EngineError(RuntimeError):
    """The engine cannot serve this request (context overflow, unsupported graph, ...)."""


def default_threads() -> int:
    """Intra-op threads: physical cores where /proc/cpuinfo tells them, else logical CPUs."""
    cores: set[tuple[str, str]] = set()
    physical = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "physical id":
                    physical = value.strip()
                elif key.strip() == "core id":
                    cores.add((physical, value.strip()))
    except OSError:
        pass
    return len(cores) or max(1, os.cpu_count() or 1)


@dataclass
class KvCache:
    """Preallocated shared past/present buffers of the fused graph.

    kv: [batch=1, kv_heads, capacity, head_dim] per layer, for K and V; the graph writes the
    new positions in place, so nothing is copied per step.  ``length`` positions are valid.
    """

    keys: list[np.ndarray]
    values: list[np.ndarray]
    key_values: list[ort.OrtValue]
    value_values: list[ort.OrtValue]
    capacity: int
    length: int = 0

    @classmethod
    def allocate(cls, manifest: Manifest, capacity: int) -> "KvCache":
        d = manifest.dims
        dtype = _NP_DTYPES[manifest.kv.dtype]
        shape = (1, d.num_kv_heads, capacity, d.head_dim)
        keys = [np.zeros(shape, dtype) for _ in range(d.num_layers)]
        values = [np.zeros(shape, dtype) for _ in range(d.num_layers)]
        return cls(
            keys=keys,
            values=values,
            key_values=[ort.OrtValue.ortvalue_from_numpy(k) for k in keys],
            value_values=[ort.OrtValue.ortvalue_from_numpy(v) for v in values],
            capacity=capacity,
        )


class DecoderSession:
    """The ONNX decoder of a model folder, driven through IOBinding."""

    def __init__(self, folder: Path, manifest: Manifest, threads: int | None = None):
        if manifest.kv.layout != KV_SHARED_BUFFER:
            raise EngineError(
                f"this engine drives the {KV_SHARED_BUFFER!r} KV layout; the model folder uses "
                f"{manifest.kv.layout!r}"
            )
        self.manifest = manifest
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.threads = options.intra_op_num_threads
        self.session = ort.InferenceSession(
            str(Path(folder) / manifest.graph), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.provider = self.session.get_providers()[0]

    def new_cache(self, capacity: int) -> KvCache:
        limit = self.manifest.dims.context_length
        if capacity > limit:
            raise EngineError(f"{capacity} tokens exceed the model's context of {limit}")
        return KvCache.allocate(self.manifest, capacity)

    def forward(self, input_ids: list[int], cache: KvCache) -> np.ndarray:
        """Run the new tokens; returns the last position's logits [vocab] and advances the cache."""
        total = cache.length + len(input_ids)
        if total > cache.capacity:
            raise EngineError(f"KV cache full: {total} tokens > capacity {cache.capacity}")
        io, kv = self.manifest.io, self.manifest.kv
        binding = self.session.io_binding()
        # input_ids: [batch, seq]; attention_mask: [batch, total_seq]
        binding.bind_cpu_input(io.input_ids, np.asarray([input_ids], dtype=np.int64))
        binding.bind_cpu_input(io.attention_mask, np.ones((1, total), dtype=np.int64))
        for layer in range(self.manifest.dims.num_layers):
            # past and present alias one buffer: the graph appends the new K/V in place.
            for past, present, value in (
                (kv.past_key, kv.present_key, cache.key_values[layer]),
                (kv.past_value, kv.present_value, cache.value_values[layer]),
            ):
                binding.bind_ortvalue_input(past % layer, value)
                binding.bind_ortvalue_output(present % layer, value)
        binding.bind_output(io.logits, "cpu")
        self.session.run_with_iobinding(binding)
        cache.length = total
        # logits: [batch, seq, vocab] -> [vocab] of the last position
        return binding.get_outputs()[-1].numpy()[0, -1]
