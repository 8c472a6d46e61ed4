"""The demo: build the tiny model if missing, start magicoder-lsp, drive a real LSP session.

  python -m demo.run_demo [--model DIR] [--tokenizer DIR]

Prints the Ask Magicoder edit the server applied, an inline completion and timings.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from scripted_editor import CLIENT_CAPABILITIES, Document, EditorSession, make_session, plain_edits

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "tiny"
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
SAMPLE = Path(__file__).resolve().parent / "sample.py"
MODEL_LOAD_TIMEOUT_S = 120


def ensure_model(model: Path, tokenizer: Path | None) -> float:
    """Build the tiny model with magicoder-export when the folder has no manifest; returns seconds."""
    if (model / "manifest.json").is_file():
        return 0.0
    cmd = [sys.executable, "-m", "export.cli", "tiny", "--output", str(model)]
    if tokenizer is not None and (tokenizer / "tokenizer.json").is_file():
        cmd += ["--tokenizer", str(tokenizer)]
    print(f"building the tiny model: {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    return time.perf_counter() - start


def find_line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


@dataclass
class Timings:
    ready_s: float = 0.0  # server start + model load
    action_ms: float = 0.0  # the first code action request
    ask_s: float = 0.0  # Ask Magicoder: prompt -> applied edit
    inline_s: float = 0.0  # one inline completion


async def start_server(session: EditorSession, model: Path) -> None:
    """magicoder-lsp on ``model`` as a subprocess, initialized."""
    client = session.client
    await client.start_io(sys.executable, "-m", "lsp_server", "--stdio", "--model", str(model))
    await client.initialize_async(
        types.InitializeParams(capabilities=CLIENT_CAPABILITIES, process_id=None, root_uri=ROOT.as_uri())
    )
    client.initialized(types.InitializedParams())


def open_sample(session: EditorSession) -> Document:
    """The sample file, opened in the editor and on the server."""
    doc = Document(uri=SAMPLE.as_uri(), text=SAMPLE.read_text(encoding="utf-8"))
    session.documents[doc.uri] = doc
    session.client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(doc.uri, doc.language_id, doc.version, doc.text))
    )
    return doc


def ask_selection(doc: Document) -> types.Range:
    """The lines of the function whose comment asks for a change, the comment included."""
    start = find_line(doc.text, "# make this function")
    end = find_line(doc.text, "return json.load")
    return types.Range(types.Position(start, 0), types.Position(end + 1, 0))


async def code_actions(session: EditorSession, doc: Document, selection: types.Range) -> list[types.CodeAction]:
    """The server's code actions for the selection."""
    found = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(doc.uri), selection, types.CodeActionContext(diagnostics=[])
        )
    )
    actions = []
    for action in found or []:
        # The client supports code action literals (CLIENT_CAPABILITIES), so no bare Command comes back.
        assert isinstance(action, types.CodeAction), f"a bare command: {action!r}"
        actions.append(action)
    return actions


async def enabled_action(
    session: EditorSession, doc: Document, selection: types.Range, action: types.CodeAction, t0: float
) -> types.CodeAction | None:
    """``action`` once the model has loaded (until then it comes disabled), or None if it does not load in time."""
    while action.disabled is not None:  # the model is still loading
        await asyncio.sleep(0.1)
        action = (await code_actions(session, doc, selection))[0]
        if action.disabled is not None and time.perf_counter() - t0 > MODEL_LOAD_TIMEOUT_S:
            print(f"model did not load: {action.disabled.reason}", file=sys.stderr)
            return None
    return action


async def execute(session: EditorSession, action: types.CodeAction) -> Any:
    """Run the action's command; the server applies its edit through workspace/applyEdit."""
    assert action.command is not None  # Ask Magicoder's actions carry the command that runs them
    command = action.command
    return await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )


def print_applied_edit(session: EditorSession, doc: Document) -> None:
    edit = session.applied[-1]
    print(f"\n=== Ask Magicoder: applied edit (document version {edit.text_document.version}) ===")
    for text_edit in plain_edits(edit):
        r = text_edit.range
        print(f"range {r.start.line}:{r.start.character}-{r.end.line}:{r.end.character}, new text:")
        print(text_edit.new_text)
    print(f"=== document after the edit (version {doc.version}) ===\n{doc.text}")


def completion_position(doc: Document) -> types.Position:
    """The end of the line after ``config = load_config(...)`` in main()."""
    line = find_line(doc.text, 'config = load_config("config.json")') + 1
    return types.Position(line, len(doc.text.split("\n")[line]))


async def inline_completion(
    session: EditorSession, doc: Document, position: types.Position
) -> list[types.InlineCompletionItem]:
    """The items of an invoked inline completion at ``position``."""
    completion = await session.client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(doc.uri),
            position=position,
        )
    )
    return list(completion.items if isinstance(completion, types.InlineCompletionList) else completion or [])


def print_timings(session: EditorSession, timings: Timings, outcome: Any) -> None:
    print("\n=== timings ===")
    print(f"server start + model load: {timings.ready_s:.2f} s")
    print(f"code action: {timings.action_ms:.0f} ms")
    print(f"Ask Magicoder (prompt -> applied edit): {timings.ask_s:.2f} s; server: {outcome}")
    print(f"inline completion: {timings.inline_s * 1000:.0f} ms")
    for line_text in session.log_lines:
        print(f"server log: {line_text}")


async def stop_server(session: EditorSession) -> None:
    client = session.client
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def run(model: Path) -> int:
    """The demo's LSP session: Ask Magicoder on the sample's commented function, then an inline completion."""
    session = make_session()
    timings = Timings()
    t0 = time.perf_counter()
    await start_server(session, model)
    doc = open_sample(session)

    # Ask Magicoder: select the commented function.
    selection = ask_selection(doc)
    t_action = time.perf_counter()
    actions = await code_actions(session, doc, selection)
    timings.action_ms = (time.perf_counter() - t_action) * 1000
    print(f"\ncode actions ({timings.action_ms:.0f} ms): {[a.title for a in actions]}")
    if not actions:
        print("no Ask Magicoder action was offered", file=sys.stderr)
        return 1
    action = await enabled_action(session, doc, selection, actions[0], t0)
    if action is None:
        return 1
    timings.ready_s = time.perf_counter() - t0
    t_ask = time.perf_counter()
    outcome = await execute(session, action)
    timings.ask_s = time.perf_counter() - t_ask
    if not session.applied:
        print(f"the server applied no edit: {outcome}", file=sys.stderr)
        return 1
    print_applied_edit(session, doc)

    # Inline completion at the end of main().
    position = completion_position(doc)
    t_inline = time.perf_counter()
    items = await inline_completion(session, doc, position)
    timings.inline_s = time.perf_counter() - t_inline
    print(f"=== inline completion at {position.line}:{position.character} ===")
    print(repr(items[0].insert_text) if items else "(empty: the model proposed nothing usable)")

    print_timings(session, timings, outcome)
    await stop_server(session)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo.run_demo", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--tokenizer", type=Path, default=SHARED_TOKENIZER if SHARED_TOKENIZER.is_dir() else None)
    args = p.parse_args(argv)
    build_s = ensure_model(args.model, args.tokenizer)
    if build_s:
        print(f"tiny model built in {build_s:.1f} s")
    return asyncio.run(run(args.model))


if __name__ == "__main__":
    sys.exit(main())
