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
from pathlib import Path

from lsprotocol import types

from scripted_editor import CLIENT_CAPABILITIES, Document, make_session

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "models" / "tiny"
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"
SAMPLE = Path(__file__).resolve().parent / "sample.py"


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


async def run(model: Path) -> int:
    session = make_session()
    client = session.client
    t0 = time.perf_counter()
    await client.start_io(sys.executable, "-m", "lsp_server", "--stdio", "--model", str(model))
    await client.initialize_async(
        types.InitializeParams(capabilities=CLIENT_CAPABILITIES, process_id=None, root_uri=ROOT.as_uri())
    )
    client.initialized(types.InitializedParams())
    doc = Document(uri=SAMPLE.as_uri(), text=SAMPLE.read_text(encoding="utf-8"))
    session.documents[doc.uri] = doc
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(doc.uri, doc.language_id, doc.version, doc.text))
    )

    # Ask Magicoder: select the commented function.
    start = find_line(doc.text, "# make this function")
    end = find_line(doc.text, "return json.load")
    selection = types.Range(types.Position(start, 0), types.Position(end + 1, 0))
    t_action = time.perf_counter()
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(types.TextDocumentIdentifier(doc.uri), selection, types.CodeActionContext(diagnostics=[]))
    )
    action_ms = (time.perf_counter() - t_action) * 1000
    print(f"\ncode actions ({action_ms:.0f} ms): {[a.title for a in actions or []]}")
    if not actions:
        print("no Ask Magicoder action was offered", file=sys.stderr)
        return 1
    action = actions[0]
    while action.disabled is not None:  # the model is still loading
        await asyncio.sleep(0.1)
        action = (await client.text_document_code_action_async(
            types.CodeActionParams(types.TextDocumentIdentifier(doc.uri), selection, types.CodeActionContext(diagnostics=[]))
        ))[0]
        if time.perf_counter() - t0 > 120:
            print(f"model did not load: {action.disabled.reason}", file=sys.stderr)
            return 1
    ready_s = time.perf_counter() - t0
    t_ask = time.perf_counter()
    outcome = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )
    ask_s = time.perf_counter() - t_ask
    if not session.applied:
        print(f"the server applied no edit: {outcome}", file=sys.stderr)
        return 1
    edit = session.applied[-1]
    print(f"\n=== Ask Magicoder: applied edit (document version {edit.text_document.version}) ===")
    for text_edit in edit.edits:
        r = text_edit.range
        print(f"range {r.start.line}:{r.start.character}-{r.end.line}:{r.end.character}, new text:")
        print(text_edit.new_text)
    print(f"=== document after the edit (version {doc.version}) ===\n{doc.text}")

    # Inline completion at the end of main().
    line = find_line(doc.text, 'config = load_config("config.json")') + 1
    position = types.Position(line, len(doc.text.split("\n")[line]))
    t_inline = time.perf_counter()
    completion = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(doc.uri),
            position=position,
        )
    )
    inline_s = time.perf_counter() - t_inline
    items = completion.items if isinstance(completion, types.InlineCompletionList) else completion or []
    print(f"=== inline completion at {position.line}:{position.character} ===")
    print(repr(items[0].insert_text) if items else "(empty: the model proposed nothing usable)")

    print("\n=== timings ===")
    print(f"server start + model load: {ready_s:.2f} s")
    print(f"code action: {action_ms:.0f} ms")
    print(f"Ask Magicoder (prompt -> applied edit): {ask_s:.2f} s; server: {outcome}")
    print(f"inline completion: {inline_s * 1000:.0f} ms")
    for line_text in session.log_lines:
        print(f"server log: {line_text}")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
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
