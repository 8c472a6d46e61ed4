"""The extension's first run and Restricted Mode in a real VS Code (code-server + headless Chromium), driving
the real server on the tiny model: a fresh profile set up from the notification and the walkthrough (Set Up
Server, Get Model), and an untrusted folder whose settings try to run a script of its own. Needs what
`scripts/setup-editor.sh` installs (scripts/test.sh runs it); without it these tests skip and say so.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.editors import CACHE, CLIENT, RUNS, VENV_PYTHON, code_server_scenario, run
from tests.helpers.paths import ROOT

# The sources a magicoder-lsp wheel is built from (pyproject.toml's packages and what its metadata reads).
WHEEL_SOURCES = ["pyproject.toml", "README.md", "lsp_server", "export", "evaluation", "scripted_editor"]


@pytest.fixture(scope="module")
def server_wheel() -> Path:
    """A magicoder-lsp wheel of this checkout, built offline from a copy (nothing is left in the checkout)."""
    source, out = RUNS / "wheel-src", RUNS / "wheel"
    for folder in (source, out):
        shutil.rmtree(folder, ignore_errors=True)
    source.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in WHEEL_SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=ignore)
        else:
            shutil.copy2(item, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(source), "-w"]
    run([*command, str(out)], timeout=300)
    (wheel,) = out.glob("magicoder_lsp-*.whl")
    return wheel


@pytest.fixture(scope="module")
def hf_checkpoint(tiny_model: Path) -> Path:
    """A private copy of the tiny model's Hugging Face checkpoint (what Get Model exports)."""
    copy = RUNS / "checkpoints" / "tiny-magicoder"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tiny_model / "hf", copy)
    return copy


def test_vscode_first_run(vsix, editor_model, server_wheel, hf_checkpoint):
    """A fresh profile (e2e/firstrun.mjs): one notification with the next step and the walkthrough; Set Up Server
    cancelled (settings unchanged, no folder left), then run (a managed environment with the [cpu] runtime,
    magicoder.pythonPath set, the server running and asking for a model); Get Model from a Hugging Face folder
    cancelled mid-export (nothing changed, no half-built folder), then run with its phases shown (magicoder.model
    set, the status bar ready); a folder that is not a model refused with one message; Magicoder: Ask… answers."""
    extra = {"hf": hf_checkpoint, "server-package": server_wheel, "pip-cache": CACHE / "pip"}
    results = code_server_scenario("firstrun.mjs", vsix, editor_model, "firstrun", timeout=900, extra=extra)
    assert "Set Up Server" in results["firstNotification"] and "Open Walkthrough" in results["firstNotification"]
    assert "Magicoder: Set Up" in results["statusBeforeSetup"]
    assert results["envRecord"]["spec"] == f"{server_wheel}[cpu]"
    python = results["settingsAfterSetup"]["machine:magicoder.pythonPath"]
    assert python.endswith("/bin/python") and "/globalStorage/magicoder-lsp.magicoder-lsp/envs/env-" in python
    assert "Magicoder: Get Model" in results["status"]
    assert "int4 for CPU" in results["hubFigures"] and "downloads 13.5 GB" in results["hubFigures"]
    assert results["model"].endswith("/models/tiny-magicoder-int4-cpu")  # the folder's name, precision, target
    assert results["settingsAfterGetModel"]["machine:magicoder.model"] == results["model"]
    assert "Magicoder CPU" in results["statusReady"]
    assert results["ask"]["applied"] and results["afterAsk"] != (CLIENT / "e2e" / "sample.py").read_text()
    assert "not an ONNX model" in results["badFolderMessage"]


def test_vscode_untrusted_folder(vsix, editor_model):
    """Workspace trust on (e2e/untrusted.mjs): an untrusted folder whose settings name a script in it as
    magicoder.pythonPath, and a package, a model and a tokenizer of its own; the extension serves in Restricted
    Mode with the user's interpreter and model, and the script never runs, not even once the folder is trusted."""
    results = code_server_scenario("untrusted.mjs", vsix, editor_model, "untrusted", timeout=300)
    assert results["scriptRan"] is None
    assert "Magicoder CPU" in results["status"]
    assert all(str(VENV_PYTHON) in line for line in results["startsTrusted"]), results["startsTrusted"]
    assert results["afterAsk"] != (CLIENT / "e2e" / "sample.py").read_text()
