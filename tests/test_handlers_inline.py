"""Inline completion in process: the InlineCompleter and the two shapes of its answer (inline items, a completion
item), against a recording host and the FakeEngine.

The fake engine fills the middle with "fake_completion()", then "second_line()" at the cursor line's
indentation, then "dedented_line()" one column less: a multi-line answer stops before it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from lsprotocol import types

from lsp_server.errors import InvalidParams, RequestFailed
from lsp_server.handlers.inline import (
    COMPLETION_LABEL_CHARS,
    Completion,
    InlineCompleter,
    completion_items,
    inline_items,
)
from lsp_server.snippets import WindowIndex
from lsp_server.text import units
from tests.helpers.clients import CLIENTS, ENCODINGS
from tests.helpers.positions import pos
from tests.helpers.recording_host import RecordingHost, fake, make_host, start_host
from tests.helpers.samples import INLINE_SOURCE
from tests.helpers.waiting import wait_until

URI = "file:///work/code.py"
MULTI = "fake_completion()\n    second_line()"
SINGLE = "fake_completion()"
EMOJI_LINE = INLINE_SOURCE.split("\n")[3]


async def completer_for(client: str = CLIENTS[0], text: str = INLINE_SOURCE, **settings: Any) -> InlineCompleter:
    host = await start_host(client, **{"debounce_ms": 0, **settings})
    host.open(URI, text)
    return InlineCompleter(host)


def recorded(completer: InlineCompleter) -> RecordingHost:
    assert isinstance(completer.host, RecordingHost)
    return completer.host


async def text_at(completer: InlineCompleter, line: int, character: int, uri: str = URI) -> str | None:
    found = await completer.complete(uri, pos(line, character))
    return found.text if found else None


@pytest.mark.parametrize("client", CLIENTS)
async def test_multi_line_on_a_blank_line_and_single_line_mid_statement(client: str):
    completer = await completer_for(client)
    assert await text_at(completer, 2, 4) == MULTI
    assert await text_at(completer, 1, 8) == SINGLE
    lines = recorded(completer).log_lines("inline completion: ")
    assert len(lines) == 2 and all("prompt tokens" in line for line in lines)


@pytest.mark.parametrize("client", CLIENTS)
async def test_the_word_before_the_cursor_is_replaced_by_the_completion_item(client: str):
    encoding = ENCODINGS[client]
    completer = await completer_for(client)
    end = pos(3, units(EMOJI_LINE, encoding))  # after "na", behind an emoji: 2 UTF-16 units, 4 UTF-8 bytes
    found = await completer.complete(URI, end)
    assert found == Completion(SINGLE, EMOJI_LINE)
    (item,) = completion_items(found, end, encoding).items
    assert item.text_edit is not None and item.text_edit.new_text == "nafake_completion()"
    assert isinstance(item.text_edit, types.TextEdit) and item.text_edit.range == types.Range(
        pos(3, end.character - 2), end
    )
    assert item.filter_text == item.label == "nafake_completion()" and item.detail == "Magicoder"
    (ghost,) = inline_items(found, end).items
    assert ghost.insert_text == SINGLE and ghost.range == types.Range(end, end)


def test_completion_labels_are_one_short_line():
    multi = completion_items(Completion(MULTI, "    "), pos(2, 4), "utf-16").items[0]
    assert multi.label == "fake_completion() …" and multi.text_edit and multi.text_edit.new_text == MULTI
    long = completion_items(Completion("x" * 100, "y = "), pos(0, 4), "utf-16").items[0]
    assert len(long.label) == COMPLETION_LABEL_CHARS and long.label.endswith("…")


def test_nothing_found_is_an_empty_list_in_both_shapes():
    assert inline_items(None, pos(0, 0)).items == []
    nothing = completion_items(None, pos(0, 0), "utf-8")
    assert nothing.items == [] and nothing.is_incomplete is True


async def test_positions_past_the_line_end_inside_a_character_and_in_crlf_documents():
    completer = await completer_for(text="x = '😀'\r\n    \r\nz = 1\r\n")
    assert await text_at(completer, 1, 4) == MULTI  # "\r\n" breaks: the blank line is line 1
    assert await text_at(completer, 1, 999) == MULTI  # past the end of a line: its end (LSP)
    assert await text_at(completer, 0, 6) == SINGLE  # between the halves of 😀: the start of the character
    empty = await completer_for(text="")
    assert await text_at(empty, 0, 0) == "fake_completion()\nsecond_line()\ndedented_line()"  # nothing dedents


@pytest.mark.parametrize(
    ("uri", "line", "match"),
    [
        ("file:///work/nope.py", 0, "document file:///work/nope.py is not open"),
        (URI, 5, "line 5 is outside the document"),
        (URI, 999, "line 999 is outside the document"),
    ],
)
async def test_unknown_documents_and_lines_outside_are_invalid_params(uri: str, line: int, match: str):
    completer = await completer_for()
    with pytest.raises(InvalidParams, match=match):
        await completer.complete(uri, pos(line, 0))
    assert recorded(completer).tracked == []


async def test_the_inline_setting_off_gives_nothing_without_generating():
    completer = await completer_for(inline_enabled=False)
    assert await completer.complete(URI, pos(2, 4)) is None
    assert recorded(completer).tracked == [] and recorded(completer).logs == []


async def test_no_ghost_text_while_the_model_loads():
    host = make_host(factory=fake(token_ms=0))
    host.open(URI, INLINE_SOURCE)
    loading = host.model.start_loading(host.settings)
    assert host.model.is_loading
    assert await InlineCompleter(host).complete(URI, pos(2, 4)) is None  # the editor never waits for a load
    await loading
    assert await InlineCompleter(host).complete(URI, pos(2, 4)) is not None


async def test_without_a_model_the_request_says_why():
    host = make_host()
    host.open(URI, INLINE_SOURCE)
    with pytest.raises(RequestFailed, match="Magicoder is unavailable: the model is not loaded"):
        await InlineCompleter(host).complete(URI, pos(2, 4))


async def test_a_failing_engine_fails_each_request_and_tells_the_user_once():
    host = await start_host(factory=fake("fail"), debounce_ms=0)
    host.open(URI, INLINE_SOURCE)
    completer = InlineCompleter(host)
    for _ in range(3):
        with pytest.raises(RequestFailed, match="fails on purpose"):
            await completer.complete(URI, pos(2, 4))
    assert [kind for kind, _ in host.messages] == [types.MessageType.Error] and host.states[-1] == "error"


async def test_a_newer_request_wins_and_stops_the_older_generation():
    host = await start_host(factory=fake(token_ms=50), debounce_ms=0)
    host.open(URI, INLINE_SOURCE)
    completer = InlineCompleter(host)
    first = asyncio.ensure_future(completer.complete(URI, pos(1, 8)))
    await wait_until(lambda: host.tracked, timeout=10, what="the first generation to start")
    assert await text_at(completer, 2, 4) == MULTI
    assert await first is None and host.tracked[0].cancelled
    (line,) = host.log_lines("inline completion: ")
    assert line.endswith("; 1 superseded before it")


async def test_requests_in_a_burst_wait_for_the_typing_to_pause_and_only_the_last_is_answered():
    completer = await completer_for(debounce_ms=300)
    started = time.monotonic()
    assert await text_at(completer, 1, 8) == SINGLE  # after a pause (the first request): at once
    assert time.monotonic() - started < 0.3
    burst = []
    for _ in range(3):
        burst.append(asyncio.ensure_future(text_at(completer, 1, 8)))
        await asyncio.sleep(0.02)
    assert [await r for r in burst] == [None, None, SINGLE]
    assert time.monotonic() - started >= 0.3  # the last one waited
    assert len(recorded(completer).log_lines("inline completion: ")) == 2


async def test_a_cancelled_request_gives_nothing_and_frees_the_engine():
    host = await start_host(factory=fake(token_ms=50), debounce_ms=0)
    host.open(URI, "# fill\n" + "x = 1\n" * 10 + "    ")
    completer = InlineCompleter(host)
    task = asyncio.ensure_future(completer.complete(URI, pos(11, 4)))
    await wait_until(lambda: host.tracked, timeout=10, what="the generation to start")
    started = time.monotonic()
    host.tracked[0].cancel()  # $/cancelRequest
    assert await task is None
    assert time.monotonic() - started < 1.0 and host.logs == []


def prompt_tokens(host: RecordingHost) -> int:
    """The prompt size the last completion's log line reports."""
    line = host.log_lines("inline completion: ")[-1]
    return int(line.split(": ", 1)[1].split()[0])


async def test_snippets_of_other_open_documents_of_the_language_join_the_prompt():
    other = "def load_user(user_id):\n    return database.fetch_user(user_id)\n"
    code = "from users import load_user\n\nuser = load_user(user_id)\nname = "
    completer = await completer_for(text=code)
    host = recorded(completer)
    host.open("file:///work/users.py", other)
    host.open("file:///work/users.js", "function load_user(user_id) { return fetch_user(user_id) }\n", "javascript")
    assert await text_at(completer, 3, 7) == SINGLE
    without = prompt_tokens(host)
    host.settings = replace(host.settings, inline_snippets=True)
    assert await text_at(completer, 3, 7) == SINGLE
    grown = prompt_tokens(host) - without
    snippet = "# users.py\n" + other
    assert len(snippet) // 4 <= grown < (len(snippet) + 60) // 4  # the fake engine: 4 characters a token; no .js


async def test_each_other_documents_snippet_index_is_built_once_per_version():
    completer = await completer_for(text="from users import load_user\n\nuser = load_user(user_id)\nname = ")
    host = recorded(completer)
    host.settings = replace(host.settings, inline_snippets=True)
    host.open("file:///work/users.py", "def load_user(user_id):\n    return database.fetch_user(user_id)\n")
    host.open("file:///work/colors.py", "RED = 1\n")
    with mock.patch("lsp_server.handlers.inline.WindowIndex", wraps=WindowIndex) as built:
        for _ in range(3):
            assert await text_at(completer, 3, 7) == SINGLE
        assert built.call_count == 2  # users.py and colors.py, once each
        host.change("file:///work/users.py", "def load_user(user_id, cache):\n    return cache[user_id]\n", 2)
        assert await text_at(completer, 3, 7) == SINGLE
        assert built.call_count == 3 and built.call_args.args == (host.document("file:///work/users.py").text.text,)
    host.close("file:///work/colors.py")
    assert await text_at(completer, 3, 7) == SINGLE
    assert set(completer._indexes) == {"file:///work/users.py"}  # a closed document's index is dropped
    engine = await host.model.engine()
    assert "# users.py\ndef load_user(user_id, cache):" in getattr(engine, "_last_prompt", "")  # the new version's
