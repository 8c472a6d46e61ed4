"""magicoder.ask in process, when it must not edit: bad arguments, stale or closed documents, lines the user
changed during the answer, selections that do not fit, answers without code, a refusing editor, a failing or
missing engine, cancellation. Typing elsewhere during the answer: test_handlers_ask_rebase.py."""

from __future__ import annotations

import asyncio
import tempfile
import time

import pytest
from lsprotocol import types

from lsp_server.errors import InvalidParams, RequestCancelled, RequestFailed
from lsp_server.fake_engine import SILENT_REQUEST
from lsp_server.handlers.actions import ask_argument
from lsp_server.handlers.ask import execute_ask
from lsp_server.handlers.delivery import REVIEW, SHOW
from lsp_server.tasks import FIX, TESTS
from tests.helpers.positions import span
from tests.helpers.recording_host import RecordingHost, fake, make_host, start_host, while_answering
from tests.helpers.waiting import wait_until

URI = "file:///work/app.py"
SMALL = "# add one\ndef f(x):\n    return x\n"
WHOLE = span(0, 0, 2, 12)
ANSWER = "# fake: add one\ndef f(x):\n    return x"  # what the fake engine answers for WHOLE
# The fake engine echoes the selection: far more than maxNewTokens (256) tokens, 5 s at 20 ms a token.
BIG = "# make it faster\n" + "".join(f"value_{i} = compute({i}, {i} * 2)\n" for i in range(60))
STOPPED_WITHIN_S = 2.0


def argument(
    host: RecordingHost,
    selection: types.Range = WHOLE,
    task: str = "ask",
    instruction: str | None = None,
    uri: str = URI,
) -> list[dict]:
    return [ask_argument(host.document(uri), selection, task, instruction)]


async def refused(host: RecordingHost, args: object, error: type[Exception], match: str) -> None:
    """The request fails with ``error``; nothing was edited."""
    with pytest.raises(error, match=match):
        await execute_ask(host, args)
    assert host.applied == []


@pytest.fixture
async def host() -> RecordingHost:
    host = await start_host()
    host.open(URI, SMALL, version=1)
    return host


RANGE = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["text"],
        [{"uri": URI}],
        [{"uri": URI, "range": RANGE}, {"uri": URI, "range": RANGE}],
        [{"uri": URI, "version": "1", "range": RANGE}],
        [{"uri": URI, "version": True, "range": RANGE}],
        [{"uri": 7, "range": RANGE}],
        [{"uri": URI, "range": RANGE, "task": "refactor"}],
        [{"uri": URI, "range": RANGE, "instruction": 5}],
        [{"uri": URI, "range": {"start": {"line": 0}}}],
        None,
    ],
)
async def test_bad_arguments_are_invalid_params(host: RecordingHost, args: object):
    await refused(host, args, InvalidParams, "bad argument|takes one object")
    assert host.progress == []


@pytest.mark.parametrize(
    ("uri", "selection", "match"),
    [
        ("file:///work/closed.py", WHOLE, "document file:///work/closed.py is not open"),
        (URI, span(0, 0, 9, 0), "line 9 is outside the document"),
        (URI, span(2, 0, 0, 0), "ends .* before it starts"),
    ],
)
async def test_unknown_documents_and_bad_ranges_are_invalid_params(host: RecordingHost, uri, selection, match):
    args = [
        {
            "uri": uri,
            "version": None,
            "range": {
                "start": {"line": selection.start.line, "character": 0},
                "end": {"line": selection.end.line, "character": 0},
            },
        }
    ]
    await refused(host, args, InvalidParams, match)


async def test_an_action_offered_for_an_older_version_is_refused_before_generating(host: RecordingHost):
    args = argument(host)
    host.change(URI, SMALL + "# typed since\n", version=2)
    await refused(host, args, RequestFailed, r"changed since the action was offered \(version 1, now 2\): ask again")
    assert host.progress == [] and host.statuses == []


async def test_an_argument_without_a_version_applies_to_the_document_as_it_is(host: RecordingHost):
    host.change(URI, SMALL, version=5)
    (arg,) = argument(host)
    outcome = await execute_ask(host, [{**arg, "version": None}])
    (applied,) = host.applied
    (change,) = applied.edit.document_changes or []
    assert (
        outcome["applied"] is True and isinstance(change, types.TextDocumentEdit) and change.text_document.version == 5
    )


@pytest.mark.parametrize(
    ("text", "task", "instruction", "error", "match"),
    [
        ("def f(x):\n    return x\n", "ask", None, RequestFailed, "no instruction comment above or at the top"),
        (SMALL, FIX, None, InvalidParams, "task 'fix' needs the instruction"),
        ("\n\n\n", "ask", "make it faster", RequestFailed, "the selection holds no code"),
        ("# only a comment\n\n\n", "ask", None, RequestFailed, "no instruction comment|holds no code"),
    ],
)
async def test_requests_without_an_instruction_or_code_are_refused(host, text, task, instruction, error, match):
    host.open(URI, text)
    await refused(host, argument(host, span(0, 0, 2, 0), task, instruction), error, match)
    assert host.progress == []


@pytest.mark.parametrize(
    ("lines", "match"),
    [  # 16 characters a token at most: longer prompts are not tokenized
        (
            120,
            r"too long for Magicoder \(a \d+-token prompt\); the context budget is 256 tokens \(setting contextBudget",
        ),
        (600, r"too long for Magicoder \(\d+ characters\); the context budget is 256 tokens"),
    ],
)
async def test_a_selection_longer_than_the_context_budget_is_refused_clearly(lines: int, match: str):
    host = await start_host(context_budget=256)
    host.open(URI, "# tidy this\n" + "".join(f"x{i} = {i}\n" for i in range(lines)))
    await refused(host, argument(host, span(0, 0, lines + 1, 0)), RequestFailed, match)
    assert host.progress == [] and host.statuses == []  # nothing was generated


async def test_an_answer_without_code_changes_nothing_and_says_so(host: RecordingHost):
    outcome = await execute_ask(host, argument(host, instruction=SILENT_REQUEST))
    reason = "the answer held no code; nothing was changed"
    assert outcome["applied"] is False and outcome["reason"] == reason
    assert host.applied == [] and host.texts() == [f"Magicoder: {reason}"]


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (types.ApplyWorkspaceEditResult(applied=False, failure_reason="read-only file"), "read-only file"),
        (types.ApplyWorkspaceEditResult(applied=False), "the editor did not apply the edit"),
    ],
)
async def test_an_edit_the_editor_refuses_is_reported(host: RecordingHost, result, reason, tmp_path):
    host.apply_result = result
    outcome = await execute_ask(host, argument(host))
    assert {k: outcome[k] for k in ("task", "applied", "reason")} == {"task": "ask", "applied": False, "reason": reason}
    source = (tmp_path / "app.py").as_uri()
    host.open(source, SMALL)
    outcome = await execute_ask(host, argument(host, span(1, 0, 2, 12), TESTS, uri=source))
    assert outcome["applied"] is False and host.shown_documents == []  # no test file to show


@pytest.mark.parametrize(
    ("meanwhile", "why"),
    [
        ("typed inside", "the selected lines changed while Magicoder was answering"),
        ("replaced", "the document changed while Magicoder was answering in a way that cannot be followed"),
        ("closed", "the document was closed while Magicoder was answering"),
    ],
)
async def test_lines_changed_or_closed_during_the_answer_are_not_overwritten_and_the_answer_is_kept(
    host, monkeypatch, tmp_path, meanwhile, why
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    acts = {
        "typed inside": lambda: host.edit(URI, span(2, 11, 2, 12), "x + 1"),
        "replaced": lambda: host.change(URI, SMALL + "# typed meanwhile\n", version=2),  # a full-document change
        "closed": lambda: host.close(URI),
    }
    while_answering(host, monkeypatch, acts[meanwhile])
    outcome = await execute_ask(host, argument(host))
    (kept,) = tmp_path.glob("magicoder-app-answer-*.py")
    assert outcome["applied"] is False
    assert outcome["reason"] == f"{why}, so nothing was changed; the answer is in {kept}"
    assert outcome["answer"] == ANSWER and outcome["answerUri"] == kept.as_uri() and kept.read_text() == ANSWER + "\n"
    assert host.applied == [] and host.messages == []
    await wait_until(lambda: host.message_requests, what="the offer")
    (request,) = host.message_requests
    actions = [SHOW, REVIEW] if meanwhile == "typed inside" else [SHOW]  # review: lines it can still find
    assert request == (types.MessageType.Warning, f"Magicoder: {outcome['reason']}", actions)


async def test_writing_tests_for_an_unsaved_document_is_refused_before_generating():
    host = await start_host()
    host.open("untitled:Untitled-1", SMALL)
    args = argument(host, span(1, 0, 2, 12), TESTS, uri="untitled:Untitled-1")
    await refused(host, args, RequestFailed, "writing tests needs the document saved as a file")
    assert host.progress == []


async def test_a_failing_engine_fails_the_request_and_tells_the_user_once():
    host = await start_host(factory=fake("fail"))
    host.open(URI, SMALL)
    for _ in range(2):
        await refused(host, argument(host), RequestFailed, "fails on purpose")
    assert [p.end_message for p in host.progress] == ["failed", "failed"]
    assert [kind for kind, _ in host.messages] == [types.MessageType.Error]
    assert host.states[-1] == "error"


async def test_without_a_model_the_request_says_why():
    idle = make_host()
    idle.open(URI, SMALL)
    await refused(idle, argument(idle), RequestFailed, "Magicoder is unavailable: the model is not loaded")

    def broken(settings):
        raise OSError("no such folder")

    failed = make_host(factory=broken, model="/models/gone")
    await failed.model.start_loading(failed.settings)
    failed.open(URI, SMALL)
    await refused(failed, argument(failed), RequestFailed, "unavailable: cannot load the model: no such folder")


async def test_a_request_during_the_load_waits_for_the_model():
    host = make_host()
    host.model.start_loading(host.settings)
    host.open(URI, SMALL)
    assert host.model.is_loading
    assert (await execute_ask(host, argument(host)))["applied"] is True


async def test_cancelling_stops_the_generation_and_edits_nothing():
    host = await start_host(factory=fake(token_ms=20))
    host.open(URI, BIG)
    task = asyncio.ensure_future(execute_ask(host, argument(host, span(0, 0, 61, 0))))
    await wait_until(lambda: host.progress and host.progress[0].reports, timeout=10, what="the answer to stream")
    started = time.monotonic()
    host.tracked[-1].cancel()  # what $/cancelRequest and window/workDoneProgress/cancel both do
    with pytest.raises(RequestCancelled, match="Ask Magicoder was cancelled"):
        await task
    assert time.monotonic() - started < STOPPED_WITHIN_S  # the decode stopped: the request waits for its thread
    assert host.progress[0].end_message == "cancelled" and host.applied == [] and host.messages == []
