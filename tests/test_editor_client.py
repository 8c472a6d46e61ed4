"""The editor clients: the VS Code extension's unit tests and .vsix, a real VS Code (code-server + headless
Chromium) and a headless Neovim 0.7, each driving the real server on the tiny model.

The editors' results are compared with what the server answers a plain LSP client for the same document
and range (the tiny model is random but greedy, so deterministic). Needs what `scripts/setup-editor.sh`
installs (scripts/test.sh runs it); without it these tests skip and say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from lsprotocol import types

from scripted_editor import CLIENT_CAPABILITIES, Document, EditorSession, make_session
from tests.helpers.paths import ROOT

CLIENT = ROOT / "editor-client"
CACHE = Path(
    os.environ.get("MAGICODER_EDITOR_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "magicoder-lsp"
)
CODE_SERVER = CACHE / "code-server" / "node_modules" / ".bin" / "code-server"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
ARTIFACTS = ROOT / ".cache" / "artifacts"
# The editors' run folders ($MAGICODER_TEST_CACHE: beside the tiny model, for test runs side by side).
RUNS = Path(os.environ.get("MAGICODER_TEST_CACHE") or ROOT / ".cache") / "editor-tests"
VSIX = CLIENT / "dist" / "magicoder-lsp.vsix"
SETUP = "run `bash scripts/setup-editor.sh` first (scripts/test.sh does)"
ASK_RANGE = types.Range(types.Position(3, 0), types.Position(9, 0))  # the commented function in the samples


def require(*things: str | Path) -> None:
    for thing in things:
        found = Path(thing).exists() if isinstance(thing, Path) else shutil.which(thing)
        if not found:
            pytest.skip(f"{thing} is not installed: {SETUP}")


# -- processes -------------------------------------------------------------------------------------------
def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def stop_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, listed first (by pid), then its process group."""
    for target in [pid, *descendants(pid)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(cmd: list[str], *, cwd: Path = ROOT, timeout: float, env: dict | None = None) -> str:
    """Run a command in its own session; fail with its output when it fails or times out."""
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_tree(proc.pid)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} timed out after {timeout} s:\n{out}")
    finally:
        stop_tree(proc.pid)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited with {proc.returncode}:\n{out}")
    return out


def live_processes_under(folder: Path) -> list[str]:
    """Processes (not zombies) whose command line or working directory is inside `folder`."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if str(folder) in cmdline or cwd.startswith(str(folder)):
            found.append(f"{entry}: {cmdline[:200]}")
    return found


# -- what the server answers a plain LSP client --------------------------------------------------------
def state_of(status: object) -> str | None:
    """A magicoder/status notification's state (pygls hands unknown notifications over as namedtuples)."""
    return status.get("state") if isinstance(status, dict) else getattr(status, "state", None)


class Oracle:
    """The server on the tiny model, asked the same things as the editors (fresh document each time)."""

    def __init__(self, model: Path):
        self.model = model
        self.session: EditorSession = make_session()
        self.count = 0

    async def __aenter__(self) -> Oracle:
        client = self.session.client
        await client.start_io(sys.executable, "-m", "lsp_server", "--stdio", "--model", str(self.model))
        await client.initialize_async(types.InitializeParams(capabilities=CLIENT_CAPABILITIES))
        client.initialized(types.InitializedParams())
        deadline = time.monotonic() + 120
        while not any(state_of(s) == "ready" for s in self.session.statuses):
            assert time.monotonic() < deadline, f"the model did not load: {self.session.statuses}"
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.client.shutdown_async(None)
        self.session.client.exit(None)
        await self.session.client.stop()

    def open(self, text: str) -> Document:
        self.count += 1
        doc = Document(uri=f"file:///oracle/doc{self.count}.py", text=text)
        self.session.documents[doc.uri] = doc
        item = types.TextDocumentItem(doc.uri, doc.language_id, doc.version, doc.text)
        self.session.client.text_document_did_open(types.DidOpenTextDocumentParams(item))
        return doc

    async def ask(self, text: str, selection: types.Range, instruction: str | None = None) -> str:
        """The document after magicoder.ask on `selection` (with a free-text instruction, if given)."""
        doc = self.open(text)
        converter = self.session.client.protocol._converter
        argument = {"uri": doc.uri, "version": doc.version, "range": converter.unstructure(selection)}
        if instruction:
            argument["instruction"] = instruction
        params = types.ExecuteCommandParams(command="magicoder.ask", arguments=[argument])
        outcome = await self.session.client.workspace_execute_command_async(params)
        assert outcome and outcome.get("applied"), outcome
        return doc.text

    async def inline(self, text: str, position: types.Position) -> str:
        doc = self.open(text)
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(doc.uri),
            position=position,
        )
        result = await self.session.client.text_document_inline_completion_async(params)
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        if not items:
            return ""
        answer = items[0].insert_text
        assert isinstance(answer, str), answer  # plain text: the server sends no snippet completions
        return answer


def end_of(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)


# -- tests ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def npm_ready() -> None:
    require("node", "npm", CLIENT / "node_modules" / ".bin" / "tsc")


def test_unit_tests(npm_ready):
    out = run(["npm", "test", "--silent"], cwd=CLIENT, timeout=180)
    assert "# fail 0" in out, out


@pytest.fixture(scope="module")
def vsix(npm_ready) -> Path:
    VSIX.unlink(missing_ok=True)
    run(["npm", "run", "package", "--silent"], cwd=CLIENT, timeout=180)
    assert VSIX.is_file()
    return VSIX


def test_vsix_contents(vsix):
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("extension/package.json"))
        bundle = z.read("extension/dist/extension.js").decode()
    assert {"extension/dist/extension.js", "extension/LICENSE.txt", "extension/readme.md"} <= names
    assert not any("node_modules" in n or n.endswith(".ts") for n in names), sorted(names)
    assert manifest["engines"]["vscode"] == "^1.91.0"
    assert manifest["license"] == "MIT" and manifest["repository"]["url"]
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert commands == {
        "magicoder.askWithInstruction",
        "magicoder.getModel",
        "magicoder.openSample",
        "magicoder.restartServer",
        "magicoder.setApiKey",
        "magicoder.setupServer",
        "magicoder.showLogs",
        "magicoder.toggleInline",
    }
    # The walkthrough's pages ship with it.
    steps = manifest["contributes"]["walkthroughs"][0]["steps"]
    assert {f"extension/{step['media']['markdown']}" for step in steps} <= names
    # magicoder.ask is the server's command (registered by vscode-languageclient): never contributed twice.
    assert "magicoder.ask" not in commands
    settings = set(manifest["contributes"]["configuration"]["properties"])
    assert {
        "magicoder.pythonPath",
        "magicoder.serverPackage",
        "magicoder.model",
        "magicoder.device",
        "magicoder.maxNewTokens",
        "magicoder.temperature",
        "magicoder.inline.enabled",
        "magicoder.inline.debounceMs",
        "magicoder.previewEdits",
        "magicoder.logLevel",
    } <= settings
    assert 'require("vscode-languageclient' not in bundle  # bundled by esbuild
    assert 'require("vscode")' in bundle


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> Path:
    """A private copy of the session's tiny model (other test sessions may re-export the shared one)."""
    copy = RUNS / "tiny"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(tiny_model, copy, ignore=shutil.ignore_patterns("hf"))
    return copy


def code_server_scenario(
    script: str, vsix: Path, model: Path, name: str, timeout: float, extra: dict[str, object] | None = None
) -> dict:
    """Runs an e2e/ scenario in code-server (its run folder: RUNS/name); its results.json, which says it passed.
    `extra`: the scenario's own options."""
    require(CODE_SERVER, "chromium", VENV_PYTHON)
    artifacts, run_dir = ARTIFACTS / f"editor-{name}", RUNS / name
    options = {
        "model": model,
        "python": VENV_PYTHON,
        "vsix": vsix,
        "code-server": CODE_SERVER,
        "run-dir": run_dir,
        "artifacts": artifacts,
        **(extra or {}),
    }
    cmd = ["node", f"e2e/{script}"]
    for option, value in options.items():
        cmd += [f"--{option}", str(value)]
    try:
        out = run(cmd, cwd=CLIENT, timeout=timeout)
    finally:
        leftovers = live_processes_under(run_dir)
    print(out)
    assert not leftovers, f"processes left running: {leftovers}"
    results = json.loads((artifacts / "results.json").read_text())
    assert results["ok"], results.get("error")
    for shot in results["screenshots"]:
        assert Path(shot).stat().st_size > 1000, shot
    return results


def test_vscode_end_to_end(vsix, model):
    """Install the .vsix in code-server: the lightbulb's Ask Magicoder, Magicoder: Ask…, ghost text + Tab, the
    status bar, Toggle Inline Completions, Restart Server, a live settings change, Cancel, a line typed above
    the selection while the answer streams (e2e/run.mjs)."""
    results = code_server_scenario("run.mjs", vsix, model, "e2e", timeout=480)

    async def expected() -> tuple[str, str, str]:
        async with Oracle(model) as oracle:
            after_ask = await oracle.ask(results["sample"], ASK_RANGE)
            first = results["afterAsk"].split("\n")[0]
            line = types.Range(types.Position(0, 0), types.Position(0, len(first)))
            after_instruction = await oracle.ask(results["afterAsk"], line, results["instruction"])
            before_tab = results["afterInstruction"] + results["typed"]
            return after_ask, after_instruction, await oracle.inline(before_tab, end_of(before_tab))

    after_ask, after_instruction, completion = asyncio.run(expected())
    assert results["afterAsk"] == after_ask, "the file after Ask Magicoder is not what the server answered"
    assert results["afterInstruction"] == after_instruction, "Magicoder: Ask… did not apply the server's answer"
    assert completion, "the server proposed no inline completion here"
    assert results["afterTab"] == results["afterInstruction"] + results["typed"] + completion
    assert results["status"].strip().startswith("Magicoder CPU · "), results["status"]  # provider, then tok/s
    assert results["status"].strip().endswith(" tok/s"), results["status"]
    # A line typed at the top while Ask Magicoder answered on line 1: the answer replaced line 1 below it.
    typed, before, after = results["typedAbove"], results["beforeRebase"], results["afterRebase"]
    assert after.startswith(typed + "\n") and after.endswith(before[before.index("\n") :])
    assert after != f"{typed}\n{before}", "the answer was not applied"


def test_vscode_folder_settings_cannot_redirect_the_endpoint(vsix, model):
    """A trusted folder whose .vscode/settings.json names another endpoint (backend, allowInsecure, caBundle too)
    changes nothing: ghost text and Magicoder: Ask… go to the user's endpoint, with the API key set by Magicoder:
    Set API Key, and the status bar names it; the folder's server gets no request at all (e2e/remote.mjs)."""
    results = code_server_scenario("remote.mjs", vsix, model, "remote", timeout=300)
    user, folder = results["endpointA"], results["endpointB"]
    assert user != folder
    assert results["folderSettings"]["magicoder.endpoint"] == folder
    assert results["requestsB"] == [], "the folder's endpoint was sent requests"
    sent = [r for r in results["requestsA"] if r["method"] == "POST" and r["path"] == "/v1/completions"]
    assert len(sent) >= 2, results["requestsA"]  # ghost text, then the Ask
    assert all(r["authorization"] == f"Bearer {results['apiKey']}" for r in sent), sent
    inline_tokens = results["folderSettings"]["magicoder.inline.maxNewTokens"]
    assert any(r["max_tokens"] == inline_tokens for r in sent), "the folder's other settings did not reach the server"
    assert "remote" in results["ghost"], results["ghost"]
    assert folder.split("/v1")[0] not in results["keyPrompt"] and user.split("/v1")[0] in results["keyPrompt"]
    assert f"Endpoint: {user}" in results["tooltip"] and folder not in results["tooltip"], results["tooltip"]
    assert results["status"].strip().startswith("Magicoder remote"), results["status"]


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


def test_vscode_first_run(vsix, model, server_wheel, hf_checkpoint):
    """A fresh profile (e2e/firstrun.mjs): one notification with the next step and the walkthrough; Set Up Server
    cancelled (settings unchanged, no folder left), then run (a managed environment with the [cpu] runtime,
    magicoder.pythonPath set, the server running and asking for a model); Get Model from a Hugging Face folder
    cancelled mid-export (nothing changed, no half-built folder), then run with its phases shown (magicoder.model
    set, the status bar ready); a folder that is not a model refused with one message; Magicoder: Ask… answers."""
    extra = {"hf": hf_checkpoint, "server-package": server_wheel, "pip-cache": CACHE / "pip"}
    results = code_server_scenario("firstrun.mjs", vsix, model, "firstrun", timeout=900, extra=extra)
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


def test_vscode_untrusted_folder(vsix, model):
    """Workspace trust on (e2e/untrusted.mjs): an untrusted folder whose settings name a script in it as
    magicoder.pythonPath, and a package, a model and a tokenizer of its own; the extension serves in Restricted
    Mode with the user's interpreter and model, and the script never runs, not even once the folder is trusted."""
    results = code_server_scenario("untrusted.mjs", vsix, model, "untrusted", timeout=300)
    assert results["scriptRan"] is None
    assert "Magicoder CPU" in results["status"]
    assert all(str(VENV_PYTHON) in line for line in results["startsTrusted"]), results["startsTrusted"]
    assert results["afterAsk"] != (CLIENT / "e2e" / "sample.py").read_text()


def test_neovim(model, tmp_path):
    """Headless Neovim 0.7 with the README's config: code action → command → applyEdit; inline completion."""
    require("nvim", VENV_PYTHON)
    sample = tmp_path / "sample.py"
    sample.write_text((CLIENT / "e2e" / "sample.py").read_text())
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "MAGICODER_PYTHON": str(VENV_PYTHON),
        "MAGICODER_MODEL": str(model),
        "MAGICODER_FILE": str(sample),
        "MAGICODER_RESULT": str(result),
    }
    try:
        out = run(
            ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "-c", "luafile tests/nvim/test_magicoder.lua"],
            timeout=300,
            env=env,
        )
    finally:
        print(result.read_text() if result.exists() else "(no results)")
    results = json.loads(result.read_text())
    assert results["ok"], f"{results.get('error')}\n{out}"
    assert results["action_title"] == "Ask Magicoder: return the sum of the squares of xs"
    assert results["applied_edits"] == 1 and results["ask"]["applied"], results

    async def expected() -> tuple[str, str]:
        async with Oracle(model) as oracle:
            after_ask = await oracle.ask(sample.read_text(), ASK_RANGE)
            position = types.Position(**results["inline_position"])
            return after_ask, await oracle.inline(results["before_inline"], position)

    after_ask, completion = asyncio.run(expected())
    assert results["after_ask"] != sample.read_text()
    assert results["after_ask"] == after_ask, "the buffer after the code action is not what the server answered"
    assert results["inline"]["items"][0]["insertText"] == completion


def test_readme_shows_the_tested_neovim_config():
    readme = (ROOT / "README.md").read_text()
    config = (ROOT / "tests" / "nvim" / "magicoder.lua").read_text()
    assert config.strip() in readme, "README's Neovim config differs from tests/nvim/magicoder.lua"
