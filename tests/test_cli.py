"""The console scripts that pyproject.toml installs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT

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


def test_only_the_protocol_layer_imports_pygls():
    package = ROOT / "lsp_server"
    importers = sorted(
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if any(line.lstrip().startswith(("import pygls", "from pygls")) for line in p.read_text().splitlines())
    )
    assert importers and all(name.startswith("protocol/") for name in importers), importers


def test_no_server_module_is_over_400_lines():
    package = ROOT / "lsp_server"
    long = {
        str(p.relative_to(package)): n
        for p in package.rglob("*.py")
        if "engine" not in p.parts and (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
