"""KV caches for the two graph layouts the engine drives.

shared-buffer (fused GroupQueryAttention): one preallocated buffer per layer and K/V, bound as
    both past input and present output, so the graph appends in place and nothing is copied.
concat (Hugging Face / optimum): present = concat(past, new) comes back from the graph and is
    bound, still on the device, as the next step's past.
Every cache tensor is kv: [batch=1, kv_heads, sequence, head_dim].
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from .manifest import Manifest

NP_DTYPES = {"float32": np.float32, "float16": np.float16}


def _names(manifest: Manifest) -> list[tuple[str, str]]:
    """(past input, present output) names, ordered layer by layer, K then V."""
    kv = manifest.kv
    pairs = []
    for layer in range(manifest.dims.num_layers):
        pairs.append((kv.past_key % layer, kv.present_key % layer))
        pairs.append((kv.past_value % layer, kv.present_value % layer))
    return pairs


def _ortvalue(array: np.ndarray, device: str) -> ort.OrtValue:
    return ort.OrtValue.ortvalue_from_numpy(array, device, 0)


class SharedKv:
    def __init__(self, manifest: Manifest, capacity: int, device: str):
        d = manifest.dims
        self.shape = (1, d.num_kv_heads, capacity, d.head_dim)
        self.dtype = NP_DTYPES[manifest.kv.dtype]
        self.names = _names(manifest)
        self.device = device
        self.capacity = capacity
        self.length = 0
        self._binding: ort.IOBinding | None = None
        if device == "cpu":
            self.arrays = [np.zeros(self.shape, self.dtype) for _ in self.names]
            self.values = [_ortvalue(a, "cpu") for a in self.arrays]  # views of the arrays
        else:
            self.arrays = []
            self.values = [
                ort.OrtValue.ortvalue_from_shape_and_type(self.shape, self.dtype, device, 0) for _ in self.names
            ]

    def fits(self, tokens: int) -> bool:
        return tokens <= self.capacity

    def truncate(self, length: int) -> None:
        self.length = length  # later positions are overwritten by the next forward pass

    def copy_prefix_from(self, other: KvState, length: int) -> None:
        """Carry the first ``length`` positions over from a smaller buffer (growth only)."""
        assert isinstance(other, SharedKv), "a session makes caches of one layout only"
        for i, value in enumerate(self.values):
            if self.device == "cpu":
                self.arrays[i][:, :, :length, :] = other.arrays[i][:, :, :length, :]
            else:  # a device buffer cannot be written in part from Python: one host round trip
                host = np.zeros(self.shape, self.dtype)
                host[:, :, :length, :] = other.values[i].numpy()[:, :, :length, :]
                value.update_inplace(host)

    def binding(self, session: ort.InferenceSession) -> ort.IOBinding:
        """One IOBinding for the buffer's life: the KV tensors are bound once, not every step."""
        if self._binding is None:
            self._binding = session.io_binding()
            for (past, present), value in zip(self.names, self.values, strict=False):
                self._binding.bind_ortvalue_input(past, value)
                self._binding.bind_ortvalue_output(present, value)
        return self._binding

    def update(self, binding: ort.IOBinding, new_tokens: int) -> None:
        self.length += new_tokens  # the graph wrote in place


class ConcatKv:
    def __init__(self, manifest: Manifest, capacity: int, device: str):
        d = manifest.dims
        self.empty_shape = (1, d.num_kv_heads, 0, d.head_dim)
        self.dtype = NP_DTYPES[manifest.kv.dtype]
        self.names = _names(manifest)
        self.device = device
        self.capacity = capacity  # the model's context: the graph grows the cache itself
        self.length = 0
        self.values = self._empty()

    def _empty(self) -> list[ort.OrtValue]:
        return [_ortvalue(np.zeros(self.empty_shape, self.dtype), self.device) for _ in self.names]

    def fits(self, tokens: int) -> bool:
        return tokens <= self.capacity

    def truncate(self, length: int) -> None:
        if length >= self.length:
            return
        if length == 0:
            self.values = self._empty()
        else:  # slicing needs the host: one copy when a request diverges from the cached one
            self.values = [
                _ortvalue(np.ascontiguousarray(v.numpy()[:, :, :length, :]), self.device) for v in self.values
            ]
        self.length = length

    def copy_prefix_from(self, other: KvState, length: int) -> None:
        assert isinstance(other, ConcatKv), "a session makes caches of one layout only"
        self.values = other.values
        self.length = other.length
        self.truncate(length)

    def binding(self, session: ort.InferenceSession) -> ort.IOBinding:
        binding = session.io_binding()
        for (past, present), value in zip(self.names, self.values, strict=False):
            binding.bind_ortvalue_input(past, value)
            binding.bind_output(present, self.device)  # stays on the device for the next step
        return binding

    def update(self, binding: ort.IOBinding, new_tokens: int) -> None:
        self.values = binding.get_outputs()[: len(self.names)]  # binding order: presents first
        self.length += new_tokens


KvState = SharedKv | ConcatKv
