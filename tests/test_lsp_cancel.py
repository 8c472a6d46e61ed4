"""Streaming progress and cancellation end to end, against a slow fake engine (50 ms a token).

A generation the user cancels must stop, not just lose its answer: the engine serves one
generation at a time, so a request right after the cancel is answered quickly only if it did.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled

from tests.helpers.lsp_session import (
    RecordingClient,
    ask_progress,
    change_doc,
    code_actions,
    fake_server,
    inline,
    kept_answer,
    open_doc,
    progress_reports,
    run_action,
    send,
)
from tests.helpers.positions import pos, span
from tests.helpers.waiting import wait_until

TOKEN_MS = 50
URI = "file:///work/big.py"
# The fake engine echoes the selection: 60 lines are far more than maxNewTokens (256) tokens, 12.8 s.
BIG = "# make it faster\n" + "".join(f"value_{i} = compute({i}, {i} * 2)\n" for i in range(60))
SMALL = "# add one\ndef f(x):\n    return x\n"
FAST_ENOUGH_S = 6.0  # a stopped generation frees the engine at once; a running one would hold it for ~12 s


client = fake_server("--fake-token-ms", str(TOKEN_MS), options={"debounceMs": 0})


async def answered_quickly(client: RecordingClient) -> float:
    """Seconds an inline completion takes (it queues behind any generation still running)."""
    started = time.monotonic()
    result = await asyncio.wait_for(inline(client, URI, pos(1, 0)), 30)
    assert result.items, "the engine still answers"
    return time.monotonic() - started


async def test_progress_streams_the_partial_answer(client: RecordingClient):
    open_doc(client, URI, SMALL)
    (action, *_) = await code_actions(client, URI, span(0, 0, 2, 12))
    assert (await run_action(client, action))["applied"] is True
    begin, *middle, end = ask_progress(client)[1]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "Ask Magicoder: add one" and begin.cancellable is True
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "done"
    partial = [r.message for r in middle if isinstance(r, types.WorkDoneProgressReport)]
    assert partial and all(m and m in "# fake: add one\ndef f(x):\n    return x" for m in partial), partial


async def test_a_document_changed_during_the_answer_is_not_overwritten(client: RecordingClient):
    open_doc(client, URI, SMALL)
    (action, *_) = await code_actions(client, URI, span(0, 0, 2, 12))
    task = asyncio.ensure_future(run_action(client, action))
    await wait_until(lambda: any(s["state"] == "busy" for s in client.statuses), what="the generation to start")
    change_doc(client, URI, SMALL + "# typed meanwhile\n", version=2)
    outcome = await task
    assert outcome["applied"] is False and "changed while Magicoder was answering" in outcome["reason"]
    assert client.applied_edits == []
    await wait_until(lambda: client.message_requests, what="the kept answer to be offered")
    assert [m.type for m in client.message_requests] == [types.MessageType.Warning] and client.messages == []
    assert kept_answer(outcome) == outcome["answer"] + "\n"


async def test_progress_cancel_stops_the_generation(client: RecordingClient):
    open_doc(client, URI, BIG)
    (action, *_) = await code_actions(client, URI, span(0, 0, 61, 0))
    task = asyncio.ensure_future(run_action(client, action))
    await wait_until(lambda: any(r.kind == "report" for r in ask_progress(client)[1]), what="the answer to stream")
    token = ask_progress(client)[0]
    assert token is not None
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as failure:
        await asyncio.wait_for(task, FAST_ENOUGH_S)
    assert failure.value.code == -32800 and client.applied_edits == []
    assert progress_reports(client)[token][-1].message == "cancelled"
    assert await answered_quickly(client) < FAST_ENOUGH_S


async def cancel_mid_generation(client: RecordingClient, method: str, params: object, msg_id: str) -> None:
    """Send a request, $/cancelRequest it once its generation runs: it ends with -32800, the engine free at once."""
    future = send(client, method, params, msg_id)
    await wait_until(lambda: any(s["state"] == "busy" for s in client.statuses), what="the generation to start")
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(JsonRpcException) as failure:
        await asyncio.wait_for(future, FAST_ENOUGH_S)
    assert failure.value.code == -32800
    assert await answered_quickly(client) < FAST_ENOUGH_S


async def test_cancel_request_stops_an_ask_generation(client: RecordingClient):
    """pygls cancels only the command's future; the server must stop the decode behind it too."""
    open_doc(client, URI, BIG)
    (action, *_) = await code_actions(client, URI, span(0, 0, 61, 0))
    params = types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    await cancel_mid_generation(client, types.WORKSPACE_EXECUTE_COMMAND, params, "ask-1")
    assert client.applied_edits == []


async def test_cancel_request_stops_an_inline_generation(client: RecordingClient):
    open_doc(client, URI, BIG)
    params = types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(URI),
        position=pos(61, 0),
    )
    await cancel_mid_generation(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, params, "inline-1")


async def test_shutdown_stops_running_generations(client: RecordingClient):
    open_doc(client, URI, BIG)
    (action, *_) = await code_actions(client, URI, span(0, 0, 61, 0))
    task = asyncio.ensure_future(run_action(client, action))
    await wait_until(lambda: any(s["state"] == "busy" for s in client.statuses), what="the generation to start")
    started = time.monotonic()
    await client.shutdown_session()  # shutdown, exit, and the server process ends
    client.shut_down = True
    assert time.monotonic() - started < FAST_ENOUGH_S
    with pytest.raises(JsonRpcRequestCancelled):  # the client cancels what the exit left unanswered
        await asyncio.wait_for(task, 5)
