"""The handlers with backend "openai", in process against a scripted OpenAI-compatible server that answers
as the FakeEngine does: the same edits and ghost text as the local engine, faults as LSP errors with
nothing changed and one message, a newer inline request closing the older stream, the API key by origin,
and endpoints that a workspace's configuration cannot change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from lsp_server.engine.remote import RemoteEngine
from lsp_server.engine.tokenizer import TextTokenizer
from lsp_server.errors import RequestFailed
from lsp_server.fake_engine import FakeEngine, fake_answer
from lsp_server.handlers.actions import ask_argument
from lsp_server.handlers.ask import execute_ask
from lsp_server.handlers.config import api_key, did_change_configuration
from lsp_server.handlers.inline import InlineCompleter
from lsp_server.model_host import real_engine
from tests.helpers.openai_fake import FakeOpenAI
from tests.helpers.positions import pos, span
from tests.helpers.recording_host import RecordingHost, make_host, start_host
from tests.helpers.samples import GEOMETRY, INLINE_SOURCE
from tests.helpers.waiting import wait_until

URI = "file:///work/geometry.py"
KEY = "sk-team"
MANIFEST = FakeEngine().manifest


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(key=KEY, answer=lambda prompt: fake_answer(prompt, MANIFEST)) as fake:
        yield fake


async def remote_host(fake: FakeOpenAI, tiny_model: Path, **settings: Any) -> RecordingHost:
    """A host on the remote backend, its key given as the editor gives it (magicoder/apiKey)."""
    host = make_host(
        factory=real_engine,
        backend="openai",
        endpoint=fake.url,
        tokenizer=str(tiny_model),
        debounce_ms=0,
        **settings,
    )
    host.model.keys.set(fake.url, KEY)
    local = TextTokenizer(tiny_model / "tokenizer.json")
    fake.tokenize = lambda text: local.encode(text, add_bos=False)  # the server tokenizes as we do: no warning
    await host.model.start_loading(host.settings)
    assert host.states == ["loading", "ready"] and host.messages == [], (host.statuses, host.messages)
    assert isinstance(host.model.current, RemoteEngine)
    ready = host.statuses[-1]  # the status bar names the server and the model it serves
    assert ready["provider"] == "openai" and ready["endpoint"] == fake.url and ready["model"] == "magicoder-fake"
    host.statuses.clear()
    return host


async def ask(host: RecordingHost, selection: types.Range) -> dict:
    return await execute_ask(host, [ask_argument(host.document(URI), selection, "ask", None)])


async def test_ask_through_the_remote_backend_is_the_local_engine_s_edit(server: FakeOpenAI, tiny_model: Path):
    local = await start_host()
    remote = await remote_host(server, tiny_model)
    for host in (local, remote):
        host.open(URI, GEOMETRY, version=3)
        outcome = await ask(host, span(3, 0, 5, 26))
        assert outcome["applied"] is True
    assert [a.edit for a in remote.applied] == [a.edit for a in local.applied]
    (change,) = remote.applied[0].edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 3
    (sent,) = server.completions()
    assert sent.body and sent.body["prompt"].startswith("You are an exceptionally intelligent coding assistant")


async def test_inline_completion_through_the_remote_backend(server: FakeOpenAI, tiny_model: Path):
    local, remote = await start_host(debounce_ms=0), await remote_host(server, tiny_model)
    found = []
    for host in (local, remote):
        host.open("file:///work/code.py", INLINE_SOURCE)
        found.append(await InlineCompleter(host).complete("file:///work/code.py", pos(2, 4)))
    assert found[0] == found[1] and found[1] is not None
    (sent,) = server.completions()
    assert sent.body and sent.body["prompt"].startswith(MANIFEST.prompt.fim_begin) and "suffix" not in sent.body


@pytest.mark.parametrize("fault", ["401", "cut", "malformed", "html", "500"])
async def test_a_fault_fails_the_request_changes_nothing_and_is_said_once(
    server: FakeOpenAI, tiny_model: Path, fault: str
):
    host = await remote_host(server, tiny_model)
    host.open(URI, GEOMETRY, version=3)
    server.fault = fault
    for _ in range(2):
        with pytest.raises(RequestFailed, match=server.url.replace(".", r"\.")):
            await ask(host, span(3, 0, 5, 26))
    assert host.applied == []  # no edit from an incomplete or failed answer
    assert [kind for kind, _ in host.messages] == [types.MessageType.Error] and host.states[-1] == "error"
    server.fault = None  # the server recovers: so does the status
    assert (await ask(host, span(3, 0, 5, 26)))["applied"] is True and host.states[-1] == "ready"


async def test_busy_waits_once_for_ask_and_never_for_inline(server: FakeOpenAI, tiny_model: Path):
    host = await remote_host(server, tiny_model)
    host.open(URI, GEOMETRY, version=3)
    server.fault, server.retry_after = "503", "0.1"
    with pytest.raises(RequestFailed, match=r"is busy \(HTTP 503"):
        await InlineCompleter(host).complete(URI, pos(2, 4))
    server.fault = "503"
    assert (await ask(host, span(3, 0, 5, 26)))["applied"] is True


async def streaming_completion(server: FakeOpenAI, tiny_model: Path) -> tuple[InlineCompleter, asyncio.Future]:
    """An inline completion whose slow stream (50 ms a token) has begun."""
    host = await remote_host(server, tiny_model)
    server.token_s = 0.05
    host.open("file:///work/code.py", INLINE_SOURCE)
    completer = InlineCompleter(host)
    request = asyncio.ensure_future(completer.complete("file:///work/code.py", pos(1, 8)))
    await wait_until(lambda: server.completions() and server.completions()[0].events_sent, timeout=10, what="events")
    return completer, request


async def assert_stream_closed(server: FakeOpenAI, since: float) -> None:
    """The first completion's stream was closed by the client within half a second of ``since``."""
    stream = server.completions()[0]
    await wait_until(lambda: stream.closed_at is not None, timeout=2, what="the stream to close")
    assert stream.closed_at is not None and stream.closed_at - since < 0.5


async def test_a_newer_inline_request_closes_the_older_stream(server: FakeOpenAI, tiny_model: Path):
    completer, first = await streaming_completion(server, tiny_model)
    started = time.monotonic()
    second = await completer.complete("file:///work/code.py", pos(2, 4))
    assert second is not None and await first is None
    await assert_stream_closed(server, started)


async def test_a_cancelled_request_closes_its_stream_at_once(server: FakeOpenAI, tiny_model: Path):
    """$/cancelRequest cancels the request's task (pygls) and then its generation's token (ours): the stream's task
    is cancelled once, so closing the HTTP response is not itself interrupted (the server would go on generating)."""
    completer, request = await streaming_completion(server, tiny_model)
    started = time.monotonic()
    request.cancel()  # as pygls does for $/cancelRequest, then the server's own hook cancels the token
    assert completer.cancel is not None
    completer.cancel.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    await assert_stream_closed(server, started)


async def test_a_key_for_the_endpoint_reconnects_and_others_are_ignored(
    server: FakeOpenAI, tiny_model: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("DEBUG")
    host = make_host(factory=real_engine, backend="openai", endpoint=server.url, tokenizer=str(tiny_model))
    await host.model.start_loading(host.settings)
    assert host.states[-1] == "error" and "needs an API key" in host.texts()[-1]
    api_key(host, {"origin": "http://127.0.0.2:1", "key": KEY})  # another origin: nothing happens
    assert host.model.loading is not None and host.model.loading.done()
    api_key(host, {"origin": server.url, "key": "bad\nkey"})
    assert "line break" in host.texts()[-1]
    api_key(host, {"origin": server.url, "key": KEY})
    assert host.model.loading is not None
    await host.model.loading
    assert host.states[-1] == "ready"
    assert caplog.records and all(KEY not in record.getMessage() for record in caplog.records)


async def test_the_workspace_configuration_cannot_move_the_endpoint(server: FakeOpenAI, tiny_model: Path):
    host = await remote_host(server, tiny_model)
    host.configuration_answer = {"endpoint": "http://127.0.0.1:9/v1", "backend": "local", "maxNewTokens": 7}
    await did_change_configuration(host, {})  # "ask me": the answer may be a repository's own settings
    assert host.settings.endpoint == server.url and host.settings.backend == "openai"
    assert host.settings.max_new_tokens == 7
    assert "endpoint from the workspace configuration" in host.texts()[-1]
    await did_change_configuration(host, {"endpoint": "http://127.0.0.1:9/v1"})  # pushed by the editor: taken
    assert host.settings.endpoint == "http://127.0.0.1:9/v1"


async def test_plain_http_to_another_machine_needs_allow_insecure(tiny_model: Path):
    host = make_host(
        factory=real_engine, backend="openai", endpoint="http://gpu-box:8000/v1", tokenizer=str(tiny_model)
    )
    await host.model.start_loading(host.settings)
    assert host.states[-1] == "error" and "set magicoder.allowInsecure" in host.texts()[-1]
