"""One forward pass of the exported decoder over onnxruntime, with its KV cache."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .api import EngineError
from .device import default_threads, providers_for, session_device
from .kv import ConcatKv, KvState, SharedKv
from .manifest import KV_SHARED_BUFFER, Manifest

log = logging.getLogger(__name__)

INT64_BYTES = 8


def _on_device(array: np.ndarray, device: str) -> ort.OrtValue:
    """A copy of ``array`` on ``device``, apart from the array (so CPU runs the same code as CUDA)."""
    return ort.OrtValue.ortvalue_from_numpy(np.array(array, copy=True, order="C"), device, 0)


def _bind_host(binding: ort.IOBinding, name: str, pointer: int, shape: list[int]) -> None:
    """Bind C-contiguous int64 host memory by pointer: no copy, no new OrtValue."""
    binding.bind_input(name, "cpu", 0, np.int64, shape, pointer)


class DecoderSession:
    """The ONNX decoder of a model folder, driven through IOBinding.

    Inputs stay small (the new token ids, the mask); the KV cache stays on the device; the
    graph's LM head sees only the last position, so only [vocab] logits come back to the host.
    """

    def __init__(self, folder: Path, manifest: Manifest, threads: int | None = None, device: str = "auto"):
        self.manifest = manifest
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.threads = options.intra_op_num_threads
        providers = providers_for(device, manifest.target)
        try:
            self.session = ort.InferenceSession(
                str(Path(folder) / manifest.graph), sess_options=options, providers=providers
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"onnxruntime cannot load {Path(folder) / manifest.graph}: {exc}") from exc
        self.device = session_device(self.session, providers)
        self.provider = self.session.get_providers()[0]
        self._cache_cls = SharedKv if manifest.kv.layout == KV_SHARED_BUFFER else ConcatKv
        logits = next(o for o in self.session.get_outputs() if o.name == manifest.io.logits)
        # The exporter slices the LM head to the last position: logits [batch, 1, vocab] can then
        # land in one preallocated host array instead of a fresh allocation every step.
        self._logits = (
            np.empty((1, 1, manifest.dims.vocab_size), np.float16 if "float16" in logits.type else np.float32)
            if logits.shape[1] == 1
            else None
        )
        self._logits_value = ort.OrtValue.ortvalue_from_numpy(self._logits) if self._logits is not None else None
        # Small inputs live in preallocated buffers on the session's device, bound by pointer: a
        # decode step allocates nothing and copies only its token id. (onnxruntime copies a host
        # buffer bound to a CUDA session at bind time, so rebinding host memory would go stale.)
        context = manifest.dims.context_length
        self._ones = _on_device(np.ones((1, context), np.int64), self.device)  # attention_mask: a prefix of it
        self._positions = _on_device(np.arange(context, dtype=np.int64)[None, :], self.device)  # position_ids: a slice
        self._token_host = np.zeros((1, 1), np.int64)
        self._token = _on_device(self._token_host, self.device)  # input_ids of a decode step
        # Their addresses, read once (each read is a call into onnxruntime).
        self._ones_at, self._positions_at = self._ones.data_ptr(), self._positions.data_ptr()
        self._token_at = self._token.data_ptr()
        self._bound: ort.IOBinding | None = None  # the binding whose logits output is already bound
        self._token_bound: ort.IOBinding | None = None  # the binding whose input_ids is self._token

    def new_cache(self, capacity: int) -> KvState:
        limit = self.manifest.dims.context_length
        if capacity > limit:
            raise EngineError(f"{capacity} tokens exceed the model's context of {limit}")
        if self._cache_cls is ConcatKv:
            capacity = limit
        return self._cache_cls(self.manifest, capacity, self.device)

    def _bind(self, binding: ort.IOBinding, name: str, pointer: int, shape: list[int]) -> None:
        """Bind int64 memory on the session's device by pointer."""
        binding.bind_input(name, self.device, 0, np.int64, shape, pointer)

    def forward(self, input_ids: list[int], cache: KvState, run_options: ort.RunOptions | None = None) -> np.ndarray:
        """Run the new tokens; returns the last position's logits [vocab] and advances the cache.

        The returned array is a view of a buffer the next call overwrites: copy it to keep it.
        """
        past = cache.length
        total = past + len(input_ids)
        if not cache.fits(total):
            raise EngineError(f"KV cache full: {total} tokens > capacity {cache.capacity}")
        io = self.manifest.io
        binding = cache.binding(self.session)
        # input_ids: [batch, seq]; attention_mask: [batch, total_seq]; position_ids: [batch, seq]
        if len(input_ids) == 1:
            self._token_host[0, 0] = input_ids[0]
            self._token.update_inplace(self._token_host)  # 8 bytes to the device (a copy in place on CPU)
            if binding is not self._token_bound:  # same memory, same shape: bound once per binding
                self._bind(binding, io.input_ids, self._token_at, [1, 1])
                self._token_bound = binding
        else:
            ids = np.asarray([input_ids], dtype=np.int64)  # alive until the run below returns
            _bind_host(binding, io.input_ids, ids.ctypes.data, [1, len(input_ids)])  # copied at bind time
            self._token_bound = None
        self._bind(binding, io.attention_mask, self._ones_at, [1, total])  # a prefix of the ones
        if io.position_ids:
            self._bind(binding, io.position_ids, self._positions_at + past * INT64_BYTES, [1, total - past])
        # logits [batch, 1, vocab]: the only tensor that comes back to the host
        if self._logits_value is None:
            binding.bind_output(io.logits, "cpu")
        elif binding is not self._bound:  # bound once for a binding that lives as long as its KV buffer
            binding.bind_ortvalue_output(io.logits, self._logits_value)
            self._bound = binding
        self.session.run_with_iobinding(binding, run_options)
        cache.update(binding, len(input_ids))
        if self._logits is not None:
            return self._logits[0, -1]
        return binding.get_outputs()[-1].numpy()[0, -1]
