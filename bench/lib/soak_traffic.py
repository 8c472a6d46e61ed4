"""The soak's mixed traffic, as an editor sends it, on one clock:

- typing bursts into a real module (the typing storm's Typist): BURST keystrokes at RATE/s, each a didChange
  plus an inlineCompletion request, the previous one cancelled ($/cancelRequest) while still unanswered
  (latest wins), a codeAction every CHEAP_EVERY-th keystroke; a pause of BURST_PAUSE_S after each burst;
- DOCUMENTS documents opened and closed in turn, OPEN_AT_ONCE open at a time (an editor's tabs), one opened
  (and the oldest closed) every CYCLE_S, each asked for its code actions when opened;
- Ask Magicoder, one at a time, ASK_GAP_S after the previous one was answered: the code actions of the newest
  document's instruction comment and function, then one of them (ask, docstring or explain) run through
  workspace/executeCommand, with or without a workDoneToken of the client's; a third are left to finish, a third
  cancelled by $/cancelRequest and a third by window/workDoneProgress/cancel, ASK_CANCEL_AFTER_S after they
  were sent;
- a settings change every SETTINGS_EVERY_S through workspace/didChangeConfiguration: inlineSnippets toggled,
  inlineMaxNewTokens and maxNewTokens changed, or an empty notification that makes the server pull its settings
  (workspace/configuration).
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable

from bench.lib.documents import module_lines
from bench.lib.soak_client import Ledger, SoakServer
from bench.typing_storm import CHEAP_EVERY, Typist, cheap_request

BURST, RATE = 20, 50.0
BURST_PAUSE_S = (1.5, 5.0)
DOCUMENTS, OPEN_AT_ONCE, CYCLE_S = 200, 12, 2.0
ASK_GAP_S = (3.0, 10.0)
ASK_CANCEL_AFTER_S = (0.0, 0.25)  # the tiny model answers an Ask in ~0.1-0.4 s
ASK_TASKS = {"ask": 3, "docstring": 1, "explain": 1}  # the actions run, and how often (tests would write files)
TOKEN_WAIT_S, TOKEN_TRIES = 0.05, 60  # for the server's progress token of an Ask, before cancelling through it
SETTINGS_EVERY_S = (30.0, 60.0)
INITIAL_SETTINGS = {"inlineMaxNewTokens": 16, "maxNewTokens": 32, "inlineSnippets": False}
SETTING_STEPS = (("inlineSnippets", (True, False)), ("inlineMaxNewTokens", (24, 16)), ("maxNewTokens", (64, 32)), None)
INSTRUCTIONS = (
    ("return the sum of the squares of xs", "xs"),
    ("return the largest even number in xs, or None", "xs"),
    ("count the words in text", "text"),
    ("return text with every vowel removed", "text"),
)

Action = Callable[[float], None]


class Clock:
    """Actions due at given times (time.perf_counter()), run in order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Action]] = []
        self._order = itertools.count()

    def at(self, when: float, action: Action) -> None:
        heapq.heappush(self._heap, (when, next(self._order), action))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, _, action = heapq.heappop(self._heap)
            action(now)

    def clear(self) -> None:
        self._heap.clear()


def pool_document(index: int) -> tuple[str, str, int]:
    """Document ``index`` of the pool: (uri, text, length of its third line), an instruction comment and a
    function atop 40 to 440 lines of real Python."""
    instruction, arg = INSTRUCTIONS[index % len(INSTRUCTIONS)]
    header = [f"# {instruction}\n", f"def task_{index}({arg}):\n", f"    return {arg}\n", "\n", "\n"]
    text = "".join(header + module_lines(40 + (index * 53) % 400))
    return f"file:///soak/docs/module_{index:03d}.py", text, len(header[2]) - 1


class Traffic:
    """The soak's traffic against ``server``, its requests tracked in ``ledger``; ``counts`` says what was done."""

    def __init__(self, server: SoakServer, ledger: Ledger, seed: int = 0):
        self.server, self.ledger, self.rng = server, ledger, random.Random(seed)
        self.clock = Clock()
        self.counts: Counter = Counter()
        self.typist = Typist(server)
        self.last_inline: object = None
        self.open: list[tuple[str, int]] = []  # (uri, length of its third line), oldest first
        self.next_document = 0
        self.setting_step = 0
        server.settings = dict(INITIAL_SETTINGS)

    def begin(self, now: float) -> None:
        for _ in range(OPEN_AT_ONCE):
            self.cycle_document(now, reschedule=False)
        self.clock.at(now, self.burst)
        self.clock.at(now + CYCLE_S, self.cycle_document)
        self.clock.at(now + self.rng.uniform(*ASK_GAP_S), self.ask)
        self.clock.at(now + self.rng.uniform(*SETTINGS_EVERY_S), self.change_settings)

    def stop(self) -> None:
        """No more traffic: what is in flight is left to be answered."""
        self.clock.clear()

    def track(self, msg_id: object, kind: str, on_reply: Callable[[dict], None] | None = None) -> object:
        self.ledger.track(msg_id, kind, on_reply)
        return msg_id

    # -- typing --------------------------------------------------------------------------------
    def burst(self, now: float) -> None:
        for i in range(BURST):
            self.clock.at(now + i / RATE, self.keystroke)
        self.clock.at(now + (BURST - 1) / RATE + self.rng.uniform(*BURST_PAUSE_S), self.burst)
        self.counts["bursts"] += 1

    def keystroke(self, now: float) -> None:
        server = self.server
        self.typist.key()
        self.counts["keystrokes"] += 1
        if self.last_inline is not None and self.ledger.is_open(self.last_inline):
            server.notify("$/cancelRequest", {"id": self.last_inline})
            self.ledger.cancelling(self.last_inline)
            self.counts["inline_cancel_requests"] += 1
        self.last_inline = self.track(self.typist.inline(), "inline")
        if self.counts["keystrokes"] % CHEAP_EVERY == 0:
            self.track(cheap_request(server), "codeAction")

    # -- documents -------------------------------------------------------------------------------
    def cycle_document(self, now: float, reschedule: bool = True) -> None:
        """Close the oldest open document (OPEN_AT_ONCE are open), open the next of the DOCUMENTS, and ask for
        the code actions at its top, as an editor does when the cursor lands in it."""
        if len(self.open) >= OPEN_AT_ONCE:
            uri, _ = self.open.pop(0)
            self.server.close_document(uri)
            self.counts["closed"] += 1
        uri, text, third = pool_document(self.next_document % DOCUMENTS)
        self.next_document += 1
        self.server.open_document(uri, text)
        self.open.append((uri, third))
        self.counts["opened"] += 1
        self.track(self.server.request("textDocument/codeAction", code_action_params(uri, 0, 0, 0)), "codeAction")
        if reschedule:
            self.clock.at(now + CYCLE_S, self.cycle_document)

    # -- Ask Magicoder ---------------------------------------------------------------------------
    def ask(self, now: float) -> None:
        """The code actions of the newest document's comment and function; one of them is then run."""
        uri, third = self.open[-1]
        params = code_action_params(uri, 0, 2, third)
        self.track(
            self.server.request("textDocument/codeAction", params), "codeAction", lambda r: self.run_action(uri, r)
        )

    def run_action(self, uri: str, reply: dict) -> None:
        now = time.perf_counter()
        offered: dict[str, dict] = {}
        for action in reply.get("result") or []:
            command = action.get("command") or {}
            task = (command.get("arguments") or [{}])[0].get("task")
            if command.get("command") == "magicoder.ask" and task in ASK_TASKS:
                offered.setdefault(task, command)
        if not offered or uri not in self.server.versions:  # the document was closed meanwhile, or has no actions
            self.counts["asks_skipped"] += 1
            self.clock.at(now + 1.0, self.ask)
            return
        task = self.rng.choices(list(offered), [ASK_TASKS[t] for t in offered])[0]
        params = {"command": offered[task]["command"], "arguments": offered[task]["arguments"]}
        token = None
        if self.rng.random() < 0.5:
            token = params["workDoneToken"] = f"soak-ask-{self.counts['asks']}"
        before = self.server.ask_tokens[-1] if self.server.ask_tokens else None
        msg_id = self.track(self.server.request("workspace/executeCommand", params), "ask", self.asked)
        self.counts["asks"] += 1
        self.counts[f"asks_{task}"] += 1
        fate = self.rng.choice(("finish", "cancelRequest", "progressCancel"))
        if fate != "finish":
            when = now + self.rng.uniform(*ASK_CANCEL_AFTER_S)
            self.clock.at(when, lambda t: self.cancel_ask(t, msg_id, fate, token, before, TOKEN_TRIES))

    def cancel_ask(self, now: float, msg_id: object, fate: str, token: object, before: object, tries: int) -> None:
        if not self.ledger.is_open(msg_id):
            self.counts["ask_cancels_too_late"] += 1
            return
        if fate == "cancelRequest":
            self.server.notify("$/cancelRequest", {"id": msg_id})
        else:
            if token is None:  # the server's own token: the newest Ask progress begun since this Ask was sent
                newest = self.server.ask_tokens[-1] if self.server.ask_tokens else None
                if newest is None or newest == before:
                    if tries > 0:
                        self.clock.at(
                            now + TOKEN_WAIT_S, lambda t: self.cancel_ask(t, msg_id, fate, None, before, tries - 1)
                        )
                    else:
                        self.counts["ask_progress_never_began"] += 1
                    return
                token = newest
            self.server.notify("window/workDoneProgress/cancel", {"token": token})
        self.ledger.cancelling(msg_id)
        self.counts[f"ask_{fate}"] += 1

    def asked(self, reply: dict) -> None:
        result = reply.get("result")
        if isinstance(result, dict):
            self.counts["asks_applied" if result.get("applied") else "asks_not_applied"] += 1
        self.clock.at(time.perf_counter() + self.rng.uniform(*ASK_GAP_S), self.ask)

    # -- settings --------------------------------------------------------------------------------
    def change_settings(self, now: float) -> None:
        step = SETTING_STEPS[self.setting_step % len(SETTING_STEPS)]
        rounds = self.setting_step // len(SETTING_STEPS)  # each value in turn: on, then off, ...
        self.setting_step += 1
        if step is None:  # "ask me": the server pulls its settings (workspace/configuration)
            self.server.notify("workspace/didChangeConfiguration", {"settings": None})
            self.counts["settings_pulled"] += 1
        else:
            key, values = step
            self.server.settings[key] = values[rounds % len(values)]
            self.server.notify(
                "workspace/didChangeConfiguration", {"settings": {"magicoder": dict(self.server.settings)}}
            )
            self.counts["settings_pushed"] += 1
        self.clock.at(now + self.rng.uniform(*SETTINGS_EVERY_S), self.change_settings)


def code_action_params(uri: str, first: int, last: int, end_column: int) -> dict:
    return {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": first, "character": 0}, "end": {"line": last, "character": end_column}},
        "context": {"diagnostics": []},
    }
