"""Serve an exported folder with the real server over a real LSP session (scripted_editor): one inline
completion and one Ask Magicoder on the demo's sample file; model load time, server RSS and each answer's speed.

Speeds are the server's own log line per answered request (window/logMessage, read by
bench.lib.server_watch, as the typing storm reads it); load time is from the server's start to its "ready" status.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path

from lsprotocol import types

from bench.lib.paths import DEMO_SAMPLE
from bench.lib.server_watch import hwm_mb, logged_ms, rss_mb
from scripted_editor import CLIENT_CAPABILITIES, Document, EditorSession, make_session

TOKENS = re.compile(r"(\d+) prompt tokens \((\d+) cached\), (\d+) new \((\w+)\), TTFT ([\d.]+) ms, ([\d.]+) tok/s")
ENGINE_LOAD = re.compile(r"in ([\d.]+)s \+ ([\d.]+)s warm-up, (\d+) threads")


def find_line(text: str, needle: str) -> int:
    """The first line of ``text`` that contains ``needle``."""
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def answer(line: str, wall_s: float) -> dict:
    """One answered request from the server's log line for it."""
    m = TOKENS.search(line)
    engine_ms, total_ms = logged_ms(line) or (None, None)
    return {
        "wall_s": round(wall_s, 2),
        "prompt_tokens": int(m[1]) if m else None,
        "new_tokens": int(m[3]) if m else None,
        "finish": m[4] if m else None,
        "ttft_ms": float(m[5]) if m else None,
        "tok_s": float(m[6]) if m else None,
        "engine_ms": engine_ms,
        "server_ms": total_ms,
        "log": line,
    }


async def until(predicate, timeout_s: float, what: str):
    deadline = time.perf_counter() + timeout_s
    while not (found := predicate()):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no {what} within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)
    return found


def logged(session: EditorSession, prefix: str, since: int) -> str | None:
    return next((x for x in session.log_lines[since:] if x.startswith(prefix)), None)


async def inline_completion(session: EditorSession, doc: Document) -> dict:
    line = find_line(doc.text, 'config = load_config("config.json")') + 1
    since, start = len(session.log_lines), time.perf_counter()
    await session.client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(doc.uri),
            position=types.Position(line, len(doc.text.split("\n")[line])),
        )
    )
    wall = time.perf_counter() - start
    return answer(await until(lambda: logged(session, "inline completion", since), 10, "inline log line"), wall)


async def ask_magicoder(session: EditorSession, doc: Document) -> dict:
    first, last = find_line(doc.text, "# make this function"), find_line(doc.text, "return json.load")
    selection = types.Range(types.Position(first, 0), types.Position(last + 1, 0))
    actions = await session.client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(doc.uri), selection, types.CodeActionContext(diagnostics=[])
        )
    )
    action = next(a for a in actions or [] if isinstance(a, types.CodeAction) and a.disabled is None)
    assert action.command is not None, "Ask Magicoder's code action carries its command"
    since, start = len(session.log_lines), time.perf_counter()
    outcome = await session.client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )
    wall = time.perf_counter() - start
    result = answer(await until(lambda: logged(session, "Ask Magicoder", since), 10, "Ask Magicoder log line"), wall)
    return {**result, "applied": bool(session.applied), "outcome": outcome}


async def _serve(model: Path, log: Path, options: dict, load_timeout_s: float) -> dict:
    session = make_session()
    client = session.client
    start = time.perf_counter()
    await client.start_io(sys.executable, "-m", "lsp_server", "--stdio", "--model", str(model), "--log-file", str(log))
    assert client._server is not None  # pygls keeps the server process here
    pid = client._server.pid
    await client.initialize_async(
        types.InitializeParams(
            capabilities=CLIENT_CAPABILITIES,
            process_id=None,
            root_uri=DEMO_SAMPLE.parent.as_uri(),
            initialization_options=options,
        )
    )
    client.initialized(types.InitializedParams())
    ready = lambda: next((s for s in session.statuses if s.get("state") in ("ready", "error")), None)  # noqa: E731
    state = await until(ready, load_timeout_s, "ready status")
    if state["state"] != "ready":
        raise RuntimeError(f"the server could not load {model}: {state.get('message')}")
    result: dict = {"model_load_s": round(time.perf_counter() - start, 2), "rss_ready_mib": round(rss_mb(pid))}
    doc = Document(uri=DEMO_SAMPLE.as_uri(), text=DEMO_SAMPLE.read_text(encoding="utf-8"))
    session.documents[doc.uri] = doc
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(doc.uri, doc.language_id, doc.version, doc.text))
    )
    result["inline"] = await inline_completion(session, doc)  # first: the Ask's edit changes the document
    result["ask"] = await ask_magicoder(session, doc)
    result.update(rss_after_mib=round(rss_mb(pid)), peak_rss_mib=round(hwm_mb(pid)))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return result


def engine_load(log: Path) -> dict:
    """The engine's own load and warm-up time and its thread count, from the server's log file."""
    found = list(ENGINE_LOAD.finditer(log.read_text(errors="replace"))) if log.is_file() else []
    m = found[-1] if found else None  # the latest load (the log file is appended to)
    return {"engine_load_s": float(m[1]), "warmup_s": float(m[2]), "threads": int(m[3])} if m else {}


def serve(model: Path, log: Path, ask_tokens: int, inline_tokens: int, load_timeout_s: float = 1800) -> dict:
    """Start the server on ``model``, wait for the model, ask one inline completion and one Ask Magicoder."""
    options = {"maxNewTokens": ask_tokens, "inlineMaxNewTokens": inline_tokens, "device": "cpu"}
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)  # the server appends: start this session's log afresh
    result = asyncio.run(_serve(model, log, options, load_timeout_s))
    return {**result, **engine_load(log), "options": options}
