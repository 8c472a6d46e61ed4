"""The soak's editor: an LSP client over stdio that answers the server's requests as an editor does, and its
ledger of every request it sent: when, of what kind, and whether and when it was answered.

The client applies workspace/applyEdit to the documents it has open (an incremental didChange, the version
checked first, as VS Code does), accepts window/workDoneProgress/create, answers workspace/configuration with
its settings, window/showMessageRequest with an action or a dismissal (alternately) and window/showDocument
with success. It keeps counts of the server's notifications, not the notifications themselves (a 30-minute
soak would otherwise grow the client, not the server).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.typing_storm import REQUEST_CANCELLED, TimedServer

ASK_TITLE = "Ask Magicoder"
SAMPLES_KEPT = 5  # of error responses and error messages per window / run
# An editor's capabilities: inline completion, versioned edits, progress, configuration pull, showDocument.
CAPABILITIES = {
    "textDocument": {
        "inlineCompletion": {},
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["refactor", "quickfix"]}}},
    },
    "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}, "configuration": True},
    "window": {"workDoneProgress": True, "showDocument": {"support": True}, "showMessage": {}},
}


@dataclass
class Sent:
    """A request in flight: its kind, when it was sent, its window, when it was cancelled (if it was)."""

    kind: str
    at: float
    window: int
    on_reply: Callable[[dict], None] | None = None
    cancelled_at: float | None = None


@dataclass
class Window:
    """What happened to the requests sent in one window of the soak."""

    sent: Counter = field(default_factory=Counter)  # by kind
    results: Counter = field(default_factory=Counter)  # answered with a result
    cancelled: Counter = field(default_factory=Counter)  # answered -32800
    errors: Counter = field(default_factory=Counter)  # answered with another error
    unanswered: Counter = field(default_factory=Counter)  # no answer within the timeout
    latency_ms: dict[str, list[float]] = field(default_factory=dict)  # request -> result, by kind
    cancel_ms: list[float] = field(default_factory=list)  # cancel -> answer (of any kind)
    error_samples: list[str] = field(default_factory=list)


class Ledger:
    """Every request the traffic sends, by id, until it is answered or its ``timeout_s`` has passed."""

    def __init__(self, start: float, window_s: float, windows: int, timeout_s: float):
        self.start, self.window_s, self.timeout_s = start, window_s, timeout_s
        self.windows = [Window() for _ in range(windows)]
        self.pending: dict[str, Sent] = {}
        self.expired: set[str] = set()
        self.late = 0  # answers that came after their request had been counted unanswered

    def track(self, msg_id: object, kind: str, on_reply: Callable[[dict], None] | None = None) -> None:
        at = time.perf_counter()
        window = min(len(self.windows) - 1, max(0, int((at - self.start) // self.window_s)))
        self.pending[json.dumps(msg_id)] = Sent(kind, at, window, on_reply)
        self.windows[window].sent[kind] += 1

    def tracks(self, msg_id: object) -> bool:
        key = json.dumps(msg_id)
        return key in self.pending or key in self.expired

    def is_open(self, msg_id: object) -> bool:
        return json.dumps(msg_id) in self.pending

    def cancelling(self, msg_id: object) -> None:
        sent = self.pending.get(json.dumps(msg_id))
        if sent is not None and sent.cancelled_at is None:
            sent.cancelled_at = time.perf_counter()

    def resolve(self, message: dict) -> None:
        key = json.dumps(message.get("id"))
        sent = self.pending.pop(key, None)
        if sent is None:
            self.expired.discard(key)
            self.late += 1
            return
        window, received = self.windows[sent.window], message["_received"]
        if sent.cancelled_at is not None:
            window.cancel_ms.append((received - sent.cancelled_at) * 1000)
        error = message.get("error")
        if error is None:
            window.results[sent.kind] += 1
            window.latency_ms.setdefault(sent.kind, []).append((received - sent.at) * 1000)
        elif error.get("code") == REQUEST_CANCELLED:
            window.cancelled[sent.kind] += 1
        else:
            window.errors[sent.kind] += 1
            if len(window.error_samples) < SAMPLES_KEPT:
                window.error_samples.append(f"{sent.kind}: {error.get('code')} {str(error.get('message'))[:200]}")
        if sent.on_reply is not None:
            sent.on_reply(message)

    def expire(self, now: float) -> None:
        """Count the requests unanswered for longer than the timeout as unanswered (a later answer is 'late')."""
        for key, sent in list(self.pending.items()):
            if now - sent.at > self.timeout_s:
                del self.pending[key]
                self.expired.add(key)
                self.windows[sent.window].unanswered[sent.kind] += 1

    def oldest_deadline(self) -> float | None:
        return min((s.at for s in self.pending.values()), default=None)


class SoakServer(TimedServer):
    """The server process, driven as an editor drives it (see the module's docstring)."""

    def __init__(self, *args: str):
        super().__init__(*args)
        self.ledger: Ledger | None = None  # set once the soak begins: the warm-up's requests are not in it
        self.versions: dict[str, int] = {}  # the documents the traffic has open (not the typed one)
        self.settings: dict = {}  # what workspace/configuration is answered with
        self.ask_tokens: deque = deque(maxlen=8)  # progress tokens of Ask Magicoder, newest last
        self.server_requests: Counter = Counter()  # by method
        self.notification_counts: Counter = Counter()  # by method
        self.shown: Counter = Counter()  # window/showMessage by type (1 error, 2 warning, 3 info, 4 log)
        self.shown_errors: list[str] = []
        self.statuses: Counter = Counter()  # magicoder/status states
        self.last_status: str | None = None
        self.edits: Counter = Counter()  # applyEdit: applied / refused
        self._choices = 0

    def initialize(self, options: object = None, capabilities: dict | None = None) -> dict:
        """As an editor: with its own process id (the server then watches it)."""
        params: dict[str, object] = {"processId": os.getpid(), "rootUri": None, "capabilities": capabilities or {}}
        if options is not None:
            params["initializationOptions"] = options
        response = self.call("initialize", params)
        self.notify("initialized", {})
        return response

    # -- the server's messages ---------------------------------------------------------------
    def responded(self, message: dict) -> None:
        if self.ledger is not None and self.ledger.tracks(message.get("id")):
            self.ledger.resolve(message)
        else:
            super().responded(message)

    def notified(self, message: dict) -> None:
        method, params = message["method"], message.get("params") or {}
        self.notification_counts[method] += 1
        if method == "$/progress":
            value = params.get("value") or {}
            if value.get("kind") == "begin" and str(value.get("title", "")).startswith(ASK_TITLE):
                self.ask_tokens.append(params.get("token"))
        elif method == "window/showMessage":
            self.shown[params.get("type")] += 1
            if params.get("type") == 1 and len(self.shown_errors) < SAMPLES_KEPT:
                self.shown_errors.append(str(params.get("message"))[:300])
        elif method == "magicoder/status":
            self.last_status = params.get("state")
            self.statuses[self.last_status] += 1
        if self.ledger is None:  # before the soak (ready_server reads the notifications): kept too
            super().notified(message)

    def answer(self, request: dict) -> object:
        method, params = request["method"], request.get("params") or {}
        self.server_requests[method] += 1
        if method == "workspace/applyEdit":
            return self.apply_edit(params.get("edit") or {})
        if method == "workspace/configuration":
            return [{"magicoder": dict(self.settings)} for _ in params.get("items", [])]
        if method == "window/showMessageRequest":
            self._choices += 1
            actions = params.get("actions") or []
            return actions[0] if actions and self._choices % 2 else None  # the first action, or dismissed
        if method == "window/showDocument":
            return {"success": True}
        return None  # window/workDoneProgress/create and anything else

    # -- documents ---------------------------------------------------------------------------
    def open_document(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        self.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
        )

    def close_document(self, uri: str) -> None:
        self.versions.pop(uri, None)
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def apply_edit(self, edit: dict) -> dict:
        """A versioned edit of open documents, applied as incremental didChange notifications (later edits
        first, so that the ranges of the earlier ones still hold); a stale version or a document that is not
        open is refused, as VS Code refuses it."""
        changes = edit.get("documentChanges") or []
        stale = [
            c
            for c in changes
            if self.versions.get(c.get("textDocument", {}).get("uri")) != c["textDocument"].get("version")
        ]
        if not changes or stale or edit.get("changes"):
            self.edits["refused"] += 1
            return {"applied": False, "failureReason": "stale document version or not a versioned edit"}
        for change in changes:
            uri = change["textDocument"]["uri"]
            edits = sorted(
                change.get("edits", []), key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"])
            )
            self.versions[uri] += 1
            self.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": self.versions[uri]},
                    "contentChanges": [{"range": e["range"], "text": e["newText"]} for e in reversed(edits)],
                },
            )
        self.edits["applied"] += 1
        return {"applied": True}

    def pump_all(self, timeout: float) -> None:
        """Handle every message that has arrived, waiting up to ``timeout`` for the first one."""
        if self._pump(timeout):
            while self._pump(0):
                pass
