"""The console scripts that pyproject.toml installs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_magicoder_lsp_console_script():
    out = subprocess.run([BIN / "magicoder-lsp", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("magicoder-lsp ")


def test_magicoder_export_console_script_lists_its_commands():
    out = subprocess.run([BIN / "magicoder-export", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "tiny" in out.stdout and "build" in out.stdout


def test_server_needs_no_torch_or_transformers():
    """The runtime imports onnxruntime, tokenizers, numpy and pygls only."""
    code = (
        "import sys, lsp_server.protocol, lsp_server.engine; "
        "bad = [m for m in ('torch', 'transformers', 'onnx', 'onnxruntime_genai') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
