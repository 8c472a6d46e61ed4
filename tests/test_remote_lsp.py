"""The remote backend end to end: the real server process over stdio (pytest-lsp) with backend "openai" pointed at
llama-cpp-python's server on the tiny model, its key given as an editor gives it (magicoder/apiKey), never from
the environment. Ask is delivered as a versioned edit (and never over a document changed meanwhile), ghost text
comes from the server, $/cancelRequest closes the server's stream at once, and without the key requests fail
saying so while the server keeps serving.

The random tiny model never stops on its own: maxNewTokens decides how long an answer takes (a few hundred tokens/s
here).
Its answers to the documents below stay valid UTF-8: after bytes that never become UTF-8 (its answer to
samples.GEOMETRY starts with some), llama-cpp-python holds the rest of the stream back until the end, and notices a
closed stream only when it next sends something.
"""

from __future__ import annotations

import asyncio
import os
import re
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from lsp_server.engine.endpoint import KEY_ENV, KEY_ORIGIN_ENV, origin_of
from lsp_server.model_host import API_KEY_NOTIFICATION
from lsp_server.settings import MODEL_ENV
from tests.helpers.edits import document_changes, text_document_edit
from tests.helpers.llama_server import LlamaServer
from tests.helpers.local_answers import local_ask, local_inline
from tests.helpers.lsp_session import (
    RecordingClient,
    ask_progress,
    change_doc,
    code_actions,
    config,
    finish,
    inline,
    kept_answer,
    open_doc,
    run_action,
    send,
    start,
)
from tests.helpers.markers import needs_real_tokenizer
from tests.helpers.paths import has_real_tokenizer
from tests.helpers.positions import pos, span
from tests.helpers.samples import INLINE_SOURCE
from tests.helpers.waiting import wait_until

URI = "file:///work/shorter.py"
CODE_URI = "file:///work/code.py"
SOURCE = "import math\n\n\n# make it shorter\ndef long_function():\n" + "    x = 1\n" * 8 + "    return x\n"
ASK_RANGE = span(3, 0, 13, 12)  # the comment and the function below it
TITLE = "Ask Magicoder: make it shorter"
LONG = 1000  # tokens: an answer of a few seconds
CANCEL_ANSWERED_S = 1.0  # $/cancelRequest -> the -32800 answer
# The server's own environment, without a key or model folder from the outer one: the key comes from the client.
ENV = {name: value for name, value in os.environ.items() if name not in (KEY_ENV, KEY_ORIGIN_ENV, MODEL_ENV)}
COMPLETIONS_LOG = '"POST /v1/completions HTTP/1.1" 200'
DISCONNECTED_LOG = "Disconnected from client"  # llama-cpp-python: a stream the client closed


def remote_session(with_key: bool = True, **options: object):
    """A pytest-lsp fixture: the server on the session's llama-cpp-python server, initialized (and given the key)."""

    @pytest_lsp.fixture(config=config(env=ENV))
    async def fixture(lsp_client: RecordingClient, llama_server: LlamaServer, tiny_model):
        settings = {
            "backend": "openai",
            "endpoint": llama_server.base_url,
            "tokenizer": str(tiny_model / "tokenizer.json"),
            "debounceMs": 0,
            **options,
        }
        await start(lsp_client, options=settings)  # no key yet: it connects, and is refused
        assert lsp_client.statuses[-1]["state"] == "error", lsp_client.statuses
        if with_key:
            await send_key(lsp_client, llama_server, llama_server.api_key)
        yield
        await finish(lsp_client)

    return fixture


client = remote_session()
long = remote_session(maxNewTokens=LONG, inlineMaxNewTokens=LONG)
keyless = remote_session(with_key=False)


async def send_key(client: RecordingClient, server: LlamaServer, key: str | None, state: str = "ready") -> dict:
    """magicoder/apiKey for the server's origin: the server reconnects; its status after that ends in ``state``."""
    seen = len(client.statuses)
    client.protocol.notify(API_KEY_NOTIFICATION, {"origin": origin_of(server.base_url), "key": key})
    await wait_until(
        lambda: [s["state"] for s in client.statuses[seen:]][-2:] in (["loading", "ready"], ["loading", "error"]),
        timeout=30,
        what="the server to reconnect with the new key",
    )
    status = client.statuses[-1]
    assert status["state"] == state, status
    return status


def server_log(server: LlamaServer, since: int = 0) -> str:
    """llama-cpp-python's log (uvicorn's access lines, llama.cpp's timings) from byte ``since`` on."""
    with open(server.log_path, "rb") as log:
        log.seek(since)
        return log.read().decode("utf-8", "replace")


def log_size(server: LlamaServer) -> int:
    return server.log_path.stat().st_size


def served_tokens(server: LlamaServer, since: int = 0) -> list[int]:
    """The tokens of each completion the server answered in full since byte ``since`` (one a completion request)."""
    text = server_log(server, since)
    # llama.cpp's "eval time" counts the decode steps after the first token.
    runs = [int(n) + 1 for n in re.findall(r"^llama_perf_context_print: +eval time = .* / +(\d+) runs", text, re.M)]
    assert text.count(COMPLETIONS_LOG) == len(runs), text
    return runs


def busy_since(client: RecordingClient, seen: int) -> bool:
    return any(s["state"] == "busy" for s in client.statuses[seen:])


def configure(client: RecordingClient, **values: object) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"magicoder": values}))


async def test_ask_is_a_versioned_edit_made_by_the_server(client: RecordingClient, llama_server: LlamaServer, engine):
    offset = log_size(llama_server)
    open_doc(client, URI, SOURCE, version=5)
    actions = await code_actions(client, URI, ASK_RANGE)
    assert actions[0].title == TITLE and actions[0].disabled is None
    outcome = await run_action(client, actions[0])
    # The random model runs to maxNewTokens (256): delivered, flagged as cut (the edit asks for confirmation).
    assert outcome["applied"] is True and outcome.get("truncated") is True, outcome
    (params,) = client.applied_edits
    (change,) = document_changes(params.edit)
    versioned = text_document_edit(change)  # the editor refuses it if the document moved on from version 5
    assert versioned.text_document.uri == URI and versioned.text_document.version == 5
    (edit,) = versioned.edits
    assert isinstance(edit, types.AnnotatedTextEdit), edit  # cut at maxNewTokens: to be confirmed
    assert (params.edit.change_annotations or {})[edit.annotation_id].needs_confirmation is True
    assert edit.range == span(4, 0, 13, len("    return x")) and edit.new_text.strip()
    if has_real_tokenizer():  # the greedy answer is the local engine's on the same weights (test_remote_llama.py)
        assert edit.new_text == local_ask(engine, SOURCE, 3, 13)
    begin, *_, end = ask_progress(client)[1]
    assert isinstance(begin, types.WorkDoneProgressBegin) and begin.title == TITLE
    assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "done"
    # llama-cpp-python served it: one completion, and llama.cpp decoded the whole answer.
    assert served_tokens(llama_server, offset) == [256]
    assert client.statuses[-1]["state"] == "ready" and client.statuses[-1]["endpoint"] == llama_server.base_url


async def test_a_document_changed_during_the_answer_is_not_overwritten(long: RecordingClient):
    open_doc(long, URI, SOURCE, version=1)
    (action, *_) = await code_actions(long, URI, ASK_RANGE)
    seen = len(long.statuses)
    task = asyncio.ensure_future(run_action(long, action))
    await wait_until(lambda: busy_since(long, seen), what="the generation to start")
    change_doc(long, URI, SOURCE + "# typed meanwhile\n", version=2)
    outcome = await asyncio.wait_for(task, 60)
    assert outcome["applied"] is False and "changed while Magicoder was answering" in outcome["reason"]
    assert long.applied_edits == [] and kept_answer(outcome) == outcome["answer"] + "\n"  # kept for the user


async def test_inline_completion_comes_from_the_server(client: RecordingClient, llama_server: LlamaServer, engine):
    offset = log_size(llama_server)
    open_doc(client, CODE_URI, INLINE_SOURCE)
    result = await inline(client, CODE_URI, pos(2, 4))  # a blank line in a function body: multi-line
    (item,) = result.items
    assert isinstance(item.insert_text, str) and item.insert_text.strip()
    if has_real_tokenizer():
        assert item.insert_text == local_inline(engine, INLINE_SOURCE, INLINE_SOURCE.index("    \n") + 4)
    assert item.range == types.Range(pos(2, 4), pos(2, 4))
    assert served_tokens(llama_server, offset) == [48]
    (line,) = [m.message for m in client.log_messages if m.message.startswith("inline completion")]
    assert re.search(r": \d+ prompt tokens .* \d+ new \(length\)", line), line


def long_inline() -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        text_document=types.TextDocumentIdentifier(CODE_URI),
        position=pos(2, 4),
    )


@needs_real_tokenizer  # with another vocabulary the random model's answers may hold bytes that are not UTF-8
@pytest.mark.parametrize("request_kind", ["inline", "ask"])
async def test_cancel_request_closes_the_servers_stream(
    long: RecordingClient, llama_server: LlamaServer, request_kind: str
):
    open_doc(long, CODE_URI, INLINE_SOURCE)
    open_doc(long, URI, SOURCE)
    started = time.monotonic()
    await inline(long, CODE_URI, pos(2, 4))  # a whole LONG-token answer
    whole_s = time.monotonic() - started
    params: object
    if request_kind == "inline":
        method, params = types.TEXT_DOCUMENT_INLINE_COMPLETION, long_inline()
    else:
        (action, *_) = await code_actions(long, URI, ASK_RANGE)
        assert action.command is not None
        method = types.WORKSPACE_EXECUTE_COMMAND
        params = types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)

    offset, seen = log_size(llama_server), len(long.statuses)
    future = send(long, method, params, f"{request_kind}-long")
    await wait_until(
        lambda: busy_since(long, seen) and COMPLETIONS_LOG in server_log(llama_server, offset),
        what="the server to stream the answer",
    )
    await asyncio.sleep(whole_s / 5)  # well into the answer
    assert not future.done()
    cancelled_at = time.monotonic()
    long.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=f"{request_kind}-long"))
    with pytest.raises(JsonRpcException) as failure:
        await asyncio.wait_for(future, whole_s)
    answered_s = time.monotonic() - cancelled_at
    assert failure.value.code == -32800 and long.applied_edits == []
    # The server's stream was closed by the cancel itself (no other request waits on llama-cpp-python, which
    # otherwise interrupts a running stream for a newer request).
    await wait_until(lambda: DISCONNECTED_LOG in server_log(llama_server, offset), timeout=whole_s, what="the close")
    closed_s = time.monotonic() - cancelled_at
    configure(long, inlineMaxNewTokens=8)
    started = time.monotonic()
    await inline(long, CODE_URI, pos(1, 8))
    next_s = time.monotonic() - started
    print(
        f"{request_kind}: a whole answer {whole_s:.2f} s; after the cancel: answered {answered_s * 1000:.0f} ms, "
        f"stream closed {closed_s * 1000:.0f} ms; the next request took {next_s * 1000:.0f} ms"
    )
    assert answered_s < CANCEL_ANSWERED_S and closed_s < whole_s / 4, (answered_s, closed_s, whole_s)
    assert next_s < whole_s / 4, (next_s, whole_s)  # not queued behind the rest of the cancelled answer
    if request_kind == "ask":
        token, reports = ask_progress(long)
        assert token is not None and reports[-1].message == "cancelled"


async def test_without_the_key_requests_fail_saying_so_and_the_key_recovers(
    keyless: RecordingClient, llama_server: LlamaServer
):
    where, offset = llama_server.base_url, log_size(llama_server)
    (status,) = [s for s in keyless.statuses if s["state"] == "error"]
    assert f"{where} needs an API key (HTTP 401)" in status["message"]  # none came from the outer environment
    assert [m.type for m in keyless.messages] == [types.MessageType.Error] and where in keyless.messages[0].message
    open_doc(keyless, URI, SOURCE)
    (action, *_) = await code_actions(keyless, URI, ASK_RANGE)  # offered: the server may take a key any time
    with pytest.raises(JsonRpcException, match=re.escape(f"{where} needs an API key (HTTP 401)")):
        await run_action(keyless, action)
    open_doc(keyless, CODE_URI, INLINE_SOURCE)
    with pytest.raises(JsonRpcException, match=re.escape(f"{where} needs an API key (HTTP 401)")):
        await inline(keyless, CODE_URI, pos(2, 4))
    assert keyless.applied_edits == [] and keyless.statuses[-1]["state"] == "error"
    assert len(keyless.messages) == 1  # said once, not once per request
    # Each request asked the server (the model to use first: GET /v1/models), and was refused there.
    assert server_log(llama_server, offset).count('"GET /v1/models HTTP/1.1" 401') == 2

    wrong = await send_key(keyless, llama_server, "not-the-key", state="error")
    assert f"{where} refused the API key (HTTP 401)" in wrong["message"]
    await send_key(keyless, llama_server, llama_server.api_key)
    assert (await run_action(keyless, action))["applied"] is True
    assert keyless.statuses[-1]["state"] == "ready"

    cleared = await send_key(keyless, llama_server, None, state="error")  # null: forget it
    assert f"{where} needs an API key" in cleared["message"]
    with pytest.raises(JsonRpcException, match="needs an API key"):
        await run_action(keyless, action)
    assert len(keyless.applied_edits) == 1
