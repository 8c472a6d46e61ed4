"""The editor clients: the VS Code extension's unit tests and .vsix, a real VS Code (code-server + headless
Chromium) and a headless Neovim 0.7, each driving the real server on the tiny model.

The editors' results are compared with what the server answers a plain LSP client for the same document
and range (the tiny model is random but greedy, so deterministic). Needs what `scripts/setup-editor.sh`
installs (scripts/test.sh runs it); without it these tests skip and say so. The extension's first run and
Restricted Mode: tests/test_editor_firstrun.py; the fixtures both use (npm_ready, vsix, editor_model):
tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import zipfile
from pathlib import Path

from lsprotocol import types

from scripted_editor import CLIENT_CAPABILITIES, Document, EditorSession, make_session
from tests.helpers.editors import CLIENT, VENV_PYTHON, code_server_scenario, require, run
from tests.helpers.paths import ROOT

ASK_RANGE = types.Range(types.Position(3, 0), types.Position(9, 0))  # the commented function in the samples


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
def test_unit_tests(npm_ready):
    out = run(["npm", "test", "--silent"], cwd=CLIENT, timeout=180)
    assert "# fail 0" in out, out


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


def test_vscode_end_to_end(vsix, editor_model):
    """Install the .vsix in code-server: the lightbulb's Ask Magicoder, Magicoder: Ask…, ghost text + Tab, the
    status bar, Toggle Inline Completions, Restart Server, a live settings change, Cancel, a line typed above
    the selection while the answer streams (e2e/run.mjs)."""
    results = code_server_scenario("run.mjs", vsix, editor_model, "e2e", timeout=480)

    async def expected() -> tuple[str, str, str]:
        async with Oracle(editor_model) as oracle:
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


def test_vscode_folder_settings_cannot_redirect_the_endpoint(vsix, editor_model):
    """A trusted folder whose .vscode/settings.json names another endpoint (backend, allowInsecure, caBundle too)
    changes nothing: ghost text and Magicoder: Ask… go to the user's endpoint, with the API key set by Magicoder:
    Set API Key, and the status bar names it; the folder's server gets no request at all (e2e/remote.mjs)."""
    results = code_server_scenario("remote.mjs", vsix, editor_model, "remote", timeout=300)
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


def test_neovim(editor_model, tmp_path):
    """Headless Neovim 0.7 with the README's config: code action → command → applyEdit; inline completion."""
    require("nvim", VENV_PYTHON)
    sample = tmp_path / "sample.py"
    sample.write_text((CLIENT / "e2e" / "sample.py").read_text())
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "MAGICODER_PYTHON": str(VENV_PYTHON),
        "MAGICODER_MODEL": str(editor_model),
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
        async with Oracle(editor_model) as oracle:
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
