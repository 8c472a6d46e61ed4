"""Execution providers: what the engine asks onnxruntime for, and the CUDA library preload."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from lsp_server.engine import device


@pytest.fixture
def preloads(monkeypatch):
    """Count preload_dlls calls; the fake prints, as onnxruntime's does when a library is missing."""
    calls = []

    def fake_preload():
        calls.append(1)
        print("Failed to load libcublasLt.so.13: not found")

    device.preload_cuda_libraries.cache_clear()
    monkeypatch.setattr(ort, "preload_dlls", fake_preload, raising=False)
    yield calls
    device.preload_cuda_libraries.cache_clear()


def test_cuda_provider_preloads_libraries_once_and_keeps_stdout_clean(monkeypatch, preloads, capsys):
    monkeypatch.setattr(ort, "get_available_providers", lambda: [device.CUDA, device.CPU])
    for _ in range(3):
        providers = device.providers_for("auto", "cuda")
        assert providers[0][0] == device.CUDA and providers[-1] == device.CPU
    out, err = capsys.readouterr()
    assert len(preloads) == 1
    assert out == ""  # stdout is the language server's protocol channel
    assert "libcublasLt" in err


def test_no_preload_without_a_cuda_provider_or_for_a_cpu_model(monkeypatch, preloads):
    monkeypatch.setattr(ort, "get_available_providers", lambda: [device.CPU])
    assert device.providers_for("cuda", "cuda") == [device.CPU]
    monkeypatch.setattr(ort, "get_available_providers", lambda: [device.CUDA, device.CPU])
    assert device.providers_for("auto", "cpu") == [device.CPU]
    assert device.providers_for("cpu", "cuda") == [device.CPU]
    assert preloads == []


def test_a_failing_preload_does_not_stop_the_session(monkeypatch):
    def broken(**_):
        raise RuntimeError("Invalid parameter of directory=None. The directory does not exist!")

    device.preload_cuda_libraries.cache_clear()
    monkeypatch.setattr(ort, "preload_dlls", broken, raising=False)
    monkeypatch.setattr(ort, "get_available_providers", lambda: [device.CUDA, device.CPU])
    try:
        assert device.providers_for("cuda", "cuda")[0][0] == device.CUDA
    finally:
        device.preload_cuda_libraries.cache_clear()
