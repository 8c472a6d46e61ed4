"""A bare greedy decode loop on libonnxruntime.so through onnxruntime's C API (ctypes), for benchmarks only.

onnxruntime-genai calls libonnxruntime.so from C++; our engine calls the Python wheel's own binding
module, a separate build of onnxruntime. This loop makes the same calls as genai (Run with
OrtValues over preallocated buffers, the KV buffer shared between past and present) from Python,
so that decode_same_process can tell the binary apart from the loop around it.

The C API is a table of function pointers (OrtApi), append-only across releases: the indices
below are those of ORT_API_VERSION 29's table, which later libraries keep.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from lsp_server.engine import manifest as manifest_mod

API_VERSION = 29
# Indices into OrtApi (offsetof / sizeof(void*)), from onnxruntime_c_api.h.
FUNCTIONS = {
    "GetErrorMessage": (2, ctypes.c_char_p, [ctypes.c_void_p]),
    "CreateEnv": (3, ctypes.c_void_p, [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p]),
    "CreateSession": (7, ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p]),
    "Run": (9, ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]),
    "CreateSessionOptions": (10, ctypes.c_void_p, [ctypes.c_void_p]),
    "SetIntraOpNumThreads": (24, ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "SetInterOpNumThreads": (25, ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
    "CreateTensorWithDataAsOrtValue": (49, ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                                             ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p]),
    "CreateCpuMemoryInfo": (69, ctypes.c_void_p, [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]),
    "ReleaseStatus": (93, None, [ctypes.c_void_p]),
    "ReleaseValue": (96, None, [ctypes.c_void_p]),
}
FLOAT, INT64 = 1, 7  # ONNXTensorElementDataType
ARENA_ALLOCATOR, MEM_TYPE_DEFAULT, LOG_ERROR = 1, 0, 3


class _ApiBase(ctypes.Structure):
    _fields_ = [("GetApi", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_uint32)), ("GetVersionString", ctypes.c_void_p)]


def _library() -> ctypes.CDLL:
    capi = Path(ort.__file__).parent / "capi"
    return ctypes.CDLL(str(next(capi.glob("libonnxruntime.so*"))))


class CApi:
    """The few C API functions a decode loop needs; a non-null OrtStatus becomes an exception."""

    def __init__(self) -> None:
        lib = _library()
        lib.OrtGetApiBase.restype = ctypes.POINTER(_ApiBase)
        table = lib.OrtGetApiBase().contents.GetApi(API_VERSION)
        if not table:
            raise RuntimeError(f"libonnxruntime.so does not offer C API version {API_VERSION}")
        pointers = ctypes.cast(table, ctypes.POINTER(ctypes.c_void_p))
        for name, (index, restype, argtypes) in FUNCTIONS.items():
            setattr(self, name, ctypes.CFUNCTYPE(restype, *argtypes)(pointers[index]))

    def check(self, status: int | None) -> None:
        if status:
            message = self.GetErrorMessage(status).decode()
            self.ReleaseStatus(status)
            raise RuntimeError(message)

    def out(self, name: str, *args: object) -> ctypes.c_void_p:
        """Call a function whose last argument is an output pointer; returns what it wrote."""
        value = ctypes.c_void_p()
        self.check(getattr(self, name)(*args, ctypes.byref(value)))
        return value


def _names(names: list[str]) -> ctypes.Array:
    return (ctypes.c_char_p * len(names))(*[n.encode() for n in names])


class CApiLoop:
    """Greedy decode on a shared-buffer (GroupQueryAttention) CPU export, logits sliced to the last position."""

    def __init__(self, folder: str, threads: int, capacity: int = 512):
        api = self.api = CApi()
        m = manifest_mod.read(Path(folder))
        if m.kv.layout != manifest_mod.KV_SHARED_BUFFER:
            raise ValueError("the C API loop drives the shared-buffer layout only")
        d, io, kv = m.dims, m.io, m.kv
        self.env = api.out("CreateEnv", LOG_ERROR, b"capi-loop")
        options = api.out("CreateSessionOptions")
        api.check(api.SetIntraOpNumThreads(options, threads))
        api.check(api.SetInterOpNumThreads(options, 1))
        self.session = api.out("CreateSession", self.env, str(Path(folder) / m.graph).encode(), options)
        self.memory = api.out("CreateCpuMemoryInfo", ARENA_ALLOCATOR, MEM_TYPE_DEFAULT)
        pasts = [n for layer in range(d.num_layers) for n in (kv.past_key % layer, kv.past_value % layer)]
        presents = [n for layer in range(d.num_layers) for n in (kv.present_key % layer, kv.present_value % layer)]
        self.input_names, self.output_names = _names([io.input_ids, io.attention_mask, *pasts]), _names([io.logits, *presents])
        # kv: [batch, heads, capacity, head_dim], one buffer per layer and K/V: past and present
        self.kv = [np.zeros((1, d.num_kv_heads, capacity, d.head_dim), np.float32) for _ in pasts]
        self.kv_values = [self._value(a, FLOAT) for a in self.kv]
        self.logits = np.zeros((1, 1, d.vocab_size), np.float32)  # logits: [batch, 1, vocab]
        self.logits_value = self._value(self.logits, FLOAT)
        self.ones = np.ones((1, capacity), np.int64)
        self.token = np.zeros((1, 1), np.int64)
        self.inputs = (ctypes.c_void_p * (2 + len(pasts)))(None, None, *[v.value for v in self.kv_values])
        self.outputs = (ctypes.c_void_p * (1 + len(presents)))(self.logits_value.value, *[v.value for v in self.kv_values])

    def _value(self, array: np.ndarray, dtype: int) -> ctypes.c_void_p:
        """An OrtValue over the array's memory (the array must outlive it)."""
        shape = (ctypes.c_int64 * array.ndim)(*array.shape)
        return self.api.out("CreateTensorWithDataAsOrtValue", self.memory, array.ctypes.data, array.nbytes,
                            shape, array.ndim, dtype)

    def _step(self, ids: np.ndarray, past: int) -> int:
        api = self.api
        ids_value = self._value(ids, INT64)
        mask_value = self._value(self.ones[:, : past + ids.shape[1]], INT64)
        self.inputs[0], self.inputs[1] = ids_value.value, mask_value.value
        try:
            api.check(api.Run(self.session, None, self.input_names, self.inputs, len(self.inputs),
                              self.output_names, len(self.outputs), self.outputs))
        finally:
            api.ReleaseValue(ids_value)
            api.ReleaseValue(mask_value)
        return int(np.argmax(self.logits[0, -1]))

    def generate(self, ids: list[int], new: int) -> dict:
        start = time.perf_counter()
        token = self._step(np.asarray([ids], np.int64), 0)
        first = time.perf_counter()
        tokens = [token]
        for i in range(1, new):
            self.token[0, 0] = token
            token = self._step(self.token, len(ids) + i - 1)
            tokens.append(token)
        end = time.perf_counter()
        return {"ttft_s": first - start, "decode_tps": (new - 1) / (end - first), "tokens": tokens}
