"""Where the model runs: execution providers, threads, and the CUDA-to-CPU fallback."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys

import onnxruntime as ort

from ..magicoder import DEVICES

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


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


def providers_for(device: str, target: str) -> list:
    """The provider list to ask onnxruntime for.

    ``auto`` takes CUDA when this onnxruntime has it and the model was exported for it.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    available = ort.get_available_providers()
    want_cuda = device == "cuda" or (device == "auto" and target == "cuda")
    if want_cuda and CUDA in available:
        preload_cuda_libraries()
        return [(CUDA, {"device_id": 0, "arena_extend_strategy": "kSameAsRequested"}), CPU]
    if want_cuda and device == "cuda":
        log.warning(
            "CUDA requested but this onnxruntime has no CUDA provider (install magicoder-lsp[gpu], "
            "i.e. onnxruntime-gpu, instead of onnxruntime); running on CPU"
        )
    return [CPU]


@functools.cache
def preload_cuda_libraries() -> None:
    """Load CUDA and cuDNN from the nvidia-* wheels beside onnxruntime-gpu, once.

    onnxruntime's CUDA provider finds them by name only; ``preload_dlls`` loads them from the
    ``nvidia/`` site-packages of ``pip install 'onnxruntime-gpu[cuda,cudnn]'`` (a system CUDA on the
    library path is found either way). It reports failures with print(): stdout is the LSP's
    channel, so its output goes to stderr.
    """
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        with contextlib.redirect_stdout(sys.stderr):
            preload()
    except Exception as exc:  # a missing folder or library: onnxruntime's own load reports the rest
        log.debug("onnxruntime.preload_dlls: %s", exc)


def session_device(session: ort.InferenceSession, requested: list) -> str:
    """'cuda' or 'cpu': what the session really got (onnxruntime-gpu falls back silently)."""
    got = session.get_providers()
    asked_cuda = any((p[0] if isinstance(p, tuple) else p) == CUDA for p in requested)
    if asked_cuda and CUDA not in got:
        log.warning("CUDA could not be loaded (CUDA 12/13 and cuDNN 9 libraries needed); running on CPU")
    return "cuda" if CUDA in got else "cpu"


def cuda_works(model: bytes | str) -> bool:
    """Whether onnxruntime really runs ``model`` (a tiny graph will do) with the CUDA provider here:
    this onnxruntime has the provider, and the CUDA and cuDNN libraries load."""
    if CUDA not in ort.get_available_providers():
        return False
    providers = providers_for("cuda", "cuda")
    try:
        session = ort.InferenceSession(model, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        log.warning("onnxruntime cannot create a CUDA session: %s", exc)
        return False
    return session_device(session, providers) == "cuda"
