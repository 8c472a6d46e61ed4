"""Fill-in-the-middle mode through the LSP server: each case's document is opened in a real ``magicoder-lsp`` over
stdio, an inline completion is requested at the hole as an editor requests it (textDocument/inlineCompletion,
invoked), and the item is applied to the document. Prompt building, budgets, prefix snapping and the server's
infill clean-up are measured as the editor sees them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lsp_server.text import DocumentText
from scripted_editor.raw import RawServer

from .backend import Backend
from .holes import InfillCase

DEFAULT_MAX_NEW_TOKENS = 256  # the server's inline default (48) would cut most multi-line answers
REQUEST_TIMEOUT_S = 600.0  # one completion on a CPU model with a long prompt
CAPABILITIES = {"textDocument": {"inlineCompletion": {}}, "general": {"positionEncodings": ["utf-16"]}}


@dataclass(frozen=True)
class Filled:
    case: InfillCase
    completion: str  # the text the item inserts ("" when there was none)
    document: str  # the document after the item was applied
    error: str  # the server's error for the request, "" when it answered
    seconds: float


class InfillSession:
    """A magicoder-lsp process serving ``backend``, its log in ``log_file``."""

    def __init__(self, backend: Backend, max_new_tokens: int, log_file: Path):
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.server = RawServer("--log-file", str(log_file), "--log-level", "INFO")
        options = backend.initialization_options(
            inline_max_new_tokens=max_new_tokens, debounce_ms=0, inline_snippets=False
        )
        self.server.initialize(options, CAPABILITIES)
        try:
            self.server.wait_ready()
        except (RuntimeError, TimeoutError) as exc:
            self.server.close()
            raise SystemExit(f"magicoder-eval: the server could not serve {backend.describe()}: {exc}") from exc

    def fill(self, case: InfillCase) -> Filled:
        uri = f"file:///humaneval/{case.problem.task_id.replace('/', '_')}/{case.mode}.py"
        document = case.document
        opened = {"uri": uri, "languageId": "python", "version": 1, "text": document}
        self.server.notify("textDocument/didOpen", {"textDocument": opened})
        line, character = case.cursor
        params = {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1},  # invoked: what an editor sends when asked, no typing debounce
        }
        at = time.perf_counter()
        reply = self.server.wait(self.server.request("textDocument/inlineCompletion", params), REQUEST_TIMEOUT_S)
        seconds = time.perf_counter() - at
        self.server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        if "error" in reply:
            return Filled(case, "", document, str(reply["error"].get("message", reply["error"])), seconds)
        items = (reply.get("result") or {}).get("items") or []
        if not items:
            return Filled(case, "", document, "", seconds)
        return Filled(case, items[0]["insertText"], apply_item(document, items[0], case.cursor), "", seconds)

    def close(self) -> None:
        self.server.close()


def apply_item(document: str, item: dict, cursor: tuple[int, int]) -> str:
    """The document with an inline completion item applied: its range (the cursor when it has none) replaced."""
    text = DocumentText(document)
    here = {"line": cursor[0], "character": cursor[1]}
    where = item.get("range") or {"start": here, "end": here}
    start, end = where["start"], where["end"]
    low = text.offset_at(start["line"], start["character"])
    high = text.offset_at(end["line"], end["character"])
    return document[:low] + item["insertText"] + document[high:]


def fill_all(backend: Backend, cases: list[InfillCase], max_new_tokens: int, log_file: Path) -> Iterator[Filled]:
    """Each case through one server, one request at a time (latest wins in the server: never two at once)."""
    session = InfillSession(backend, max_new_tokens, log_file)
    try:
        for case in cases:
            yield session.fill(case)
    finally:
        session.close()
