"""Inline completion end to end against the fake engine: exact ghost text, the completion fallback,
latest-wins, positions in UTF-16 / UTF-8 with emoji and CRLF, a 10 MB document.

The fake engine fills the middle with "fake_completion()", then "second_line()" at the cursor
line's indentation, then "dedented_line()" one column less: a multi-line answer stops before it.
"""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types

from lsp_server.text import units
from tests.helpers.clients import CLIENTS
from tests.helpers.lsp_session import RecordingClient, complete, fake_server, inline, open_doc
from tests.helpers.positions import pos
from tests.helpers.samples import INLINE_SOURCE

URI = "file:///work/code.py"
SOURCE = INLINE_SOURCE


client = fake_server(clients=CLIENTS)
slow = fake_server("--fake-token-ms", "50", options={"debounceMs": 0})
debouncing = fake_server(options={"debounceMs": 300})


async def suggestion(client: RecordingClient, uri: str, position) -> str | None:
    """The ghost text (VS Code) or the completion item's text (Neovim), at a position after no word."""
    if client.client_name == "visual-studio-code":
        items = (await inline(client, uri, position)).items
        assert all(item.range.start == position for item in items)
        return items[0].insert_text if items else None
    items = (await complete(client, uri, position)).items
    assert all(item.text_edit.range.start == position == item.text_edit.range.end for item in items)
    return items[0].text_edit.new_text if items else None


async def test_multi_line_on_a_blank_line_stops_at_the_dedent(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    assert await suggestion(client, URI, pos(2, 4)) == "fake_completion()\n    second_line()"


async def test_single_line_mid_statement(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    assert await suggestion(client, URI, pos(1, 8)) == "fake_completion()"


async def test_columns_count_in_the_negotiated_encoding(client: RecordingClient):
    """After an emoji: 2 UTF-16 units (VS Code), 4 UTF-8 bytes (Neovim); the word before the cursor is replaced."""
    open_doc(client, URI, SOURCE)
    line = SOURCE.split("\n")[3]
    encoding = "utf-16" if client.client_name == "visual-studio-code" else "utf-8"
    end = pos(3, units(line, encoding))
    if client.client_name == "visual-studio-code":
        assert (await inline(client, URI, end)).items[0].insert_text == "fake_completion()"
    else:
        (item,) = (await complete(client, URI, end)).items
        assert item.text_edit.new_text == "nafake_completion()" and item.filter_text == "nafake_completion()"
        assert item.text_edit.range.start == pos(3, units(line, encoding) - 2) and item.text_edit.range.end == end


async def test_crlf_document_and_a_position_inside_a_surrogate_pair(client: RecordingClient):
    text = "x = '😀'\r\n    \r\nz = 1\r\n"
    open_doc(client, URI, text)
    assert await suggestion(client, URI, pos(1, 4)) == "fake_completion()\n    second_line()"
    if client.client_name == "visual-studio-code":
        # Column 6 falls between the two halves of 😀 (columns 5-6): read as the start of the character.
        result = await inline(client, URI, pos(0, 6))
        assert [i.insert_text for i in result.items] == ["fake_completion()"]


async def test_inline_setting_off_gives_nothing(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    client.workspace_did_change_configuration(_settings({"inlineEnabled": False}))
    await asyncio.sleep(0.2)
    assert await suggestion(client, URI, pos(2, 4)) is None


def _settings(values: dict) -> types.DidChangeConfigurationParams:
    return types.DidChangeConfigurationParams(settings={"magicoder": values})


async def test_ten_megabyte_document(client: RecordingClient):
    big = "".join(f"value_{i} = compute({i})  # 🐍\n" for i in range(330_000)) + "def tail():\n    \n"
    assert len(big) > 10_000_000
    open_doc(client, "file:///work/big.py", big)
    lines = big.count("\n")
    started = time.monotonic()
    assert await suggestion(client, "file:///work/big.py", pos(lines - 1, 4)) == "fake_completion()\n    second_line()"
    assert await suggestion(client, "file:///work/big.py", pos(lines // 2, 0)) == "fake_completion()"
    assert time.monotonic() - started < 20


async def test_a_newer_request_wins(slow: RecordingClient):
    open_doc(slow, URI, SOURCE)
    first = asyncio.ensure_future(inline(slow, URI, pos(1, 8)))
    await asyncio.sleep(0.2)  # the first generation is under way (50 ms a token)
    second = await inline(slow, URI, pos(2, 4))
    assert [i.insert_text for i in second.items] == ["fake_completion()\n    second_line()"]
    assert (await first).items == ()  # superseded: nothing, and its generation was stopped
    lines = [m.message for m in slow.log_messages if m.message.startswith("inline completion")]
    assert len(lines) == 1 and lines[0].endswith("; 1 superseded before it")


async def test_requests_typed_in_a_burst_wait_and_only_the_last_is_answered(debouncing: RecordingClient):
    open_doc(debouncing, URI, SOURCE)
    burst = []
    for _ in range(4):
        burst.append(asyncio.ensure_future(inline(debouncing, URI, pos(1, 8))))
        await asyncio.sleep(0.02)
    results = [[i.insert_text for i in (await r).items] for r in burst]
    assert results[1:] == [[], [], ["fake_completion()"]]  # the first may have finished before the burst
    generated = [m.message for m in debouncing.log_messages if m.message.startswith("inline completion")]
    assert len(generated) <= 2


async def test_snippets_of_other_open_documents_join_the_prompt(client: RecordingClient):
    """inlineSnippets: the prompt grows by a snippet of the other open file that shares names with the code."""
    other = "def load_user(user_id):\n    return database.fetch_user(user_id)\n"
    code = "from users import load_user\n\nuser = load_user(user_id)\nname = "
    open_doc(client, "file:///work/users.py", other)
    open_doc(client, URI, code)

    async def prompt_tokens() -> int:
        assert await suggestion(client, URI, pos(3, 7)) == "fake_completion()"
        line = [m.message for m in client.log_messages if m.message.startswith("inline completion")][-1]
        return int(line.split(": ", 1)[1].split()[0])

    without = await prompt_tokens()
    client.workspace_did_change_configuration(_settings({"inlineSnippets": True}))
    with_snippets = await prompt_tokens()
    assert with_snippets - without >= len("# users.py\n" + other) // 4  # the fake engine: 4 characters a token
