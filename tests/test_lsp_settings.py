"""Settings, model reloads, a failing engine and bad requests, end to end against the fake engine."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.helpers.lsp_session import (
    RecordingClient,
    code_actions,
    fake_server,
    inline,
    open_doc,
    progress_reports,
    progress_title,
    run_action,
)
from tests.helpers.positions import pos, span
from tests.helpers.waiting import wait_until

URI = "file:///work/app.py"
SOURCE = "# double it\ndef f(x):\n    return x\n"
REQUEST_FAILED, INVALID_PARAMS = -32803, -32602


client = fake_server(options={"maxNewTokens": "many", "device": "gpu", "temperature": 9, "debounceMs": 0})
broken = fake_server("fail")


def change(client: RecordingClient, settings: object) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))


async def test_bad_settings_fall_back_with_one_message(client: RecordingClient):
    (message,) = client.messages
    assert message.type == types.MessageType.Warning
    for key in ("maxNewTokens='many'", "device='gpu'", "temperature=9"):
        assert key in message.message
    open_doc(client, URI, SOURCE)
    assert (await run_action(client, (await code_actions(client, URI, span(0, 0, 2, 12)))[0]))["applied"] is True


async def test_configuration_changes_apply_live(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    assert (await inline(client, URI, pos(2, 12))).items
    change(client, {"magicoder": {"inline": {"enabled": False}}})  # VS Code's nested shape
    await _settled(client)
    assert not (await inline(client, URI, pos(2, 12))).items
    # An empty notification: the server asks for the `magicoder` section (workspace/configuration).
    client.set_configuration({"inlineEnabled": True}, section="magicoder")
    change(client, None)
    # The pulled settings apply when the client's answer arrives, which no request of ours orders.
    await _eventually_inline(client)
    change(client, {"maxNewTokens": -5})
    await wait_until(lambda: len(client.messages) == 2, what="the message about maxNewTokens")
    assert "maxNewTokens=-5" in client.messages[-1].message


async def _eventually_inline(client: RecordingClient, timeout: float = 10.0) -> None:
    """Inline completions come back within `timeout` seconds (each try is a full request)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await inline(client, URI, pos(2, 12))).items:
        assert asyncio.get_running_loop().time() < deadline, "inline completions stayed off"
        await asyncio.sleep(0.02)


async def _settled(client: RecordingClient) -> None:
    """A request round trip: notifications sent before it have been handled."""
    await code_actions(client, URI, span(0, 0, 0, 0))


async def test_a_new_model_folder_reloads_with_progress(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    change(client, {"model": "/models/other"})
    await wait_until(
        lambda: client.statuses[-1].get("model") == "fake-other" and client.statuses[-1]["state"] == "ready",
        what="the reload",
    )
    states = [s["state"] for s in client.statuses]
    assert states[-2:] == ["loading", "ready"] and states.count("loading") == 2
    loads = [r[0].message for r in progress_reports(client).values() if progress_title(r) == "Magicoder"]
    assert loads[-1] == "loading the model /models/other"
    change(client, {"temperature": 0.5})  # a cheap setting: no reload
    await _settled(client)
    assert [s["state"] for s in client.statuses].count("loading") == 2


async def test_a_failing_engine_gives_errors_and_one_message(broken: RecordingClient):
    open_doc(broken, URI, SOURCE)
    for _ in range(3):
        with pytest.raises(JsonRpcException) as failure:
            await inline(broken, URI, pos(2, 12))
        assert failure.value.code == REQUEST_FAILED and "fails on purpose" in failure.value.message
    with pytest.raises(JsonRpcException, match="fails on purpose"):
        await run_action(broken, (await code_actions(broken, URI, span(0, 0, 2, 12)))[0])
    assert [m.type for m in broken.messages] == [types.MessageType.Error]
    assert broken.statuses[-1]["state"] == "error"
    assert await code_actions(broken, URI, span(0, 0, 2, 12))  # still serving


async def test_selection_longer_than_the_context_is_refused_clearly(client: RecordingClient):
    change(client, {"contextBudget": 256})  # the least it accepts
    long_code = "# tidy this\n" + "".join(f"x{i} = {i}\n" for i in range(200))
    open_doc(client, URI, long_code)
    (action, *_) = await code_actions(client, URI, span(0, 0, 200, 0))
    with pytest.raises(JsonRpcException, match=r"too long for Magicoder.*contextBudget") as failure:
        await run_action(client, action)
    assert failure.value.code == REQUEST_FAILED and client.applied_edits == []


async def test_unknown_documents_and_bad_positions_are_errors_not_crashes(client: RecordingClient):
    with pytest.raises(JsonRpcException, match="not open") as failure:
        await code_actions(client, "file:///nope.py", span(0, 0, 0, 0))
    assert failure.value.code == INVALID_PARAMS
    open_doc(client, URI, SOURCE)
    with pytest.raises(JsonRpcException, match="outside the document"):
        await inline(client, URI, pos(999, 0))
    with pytest.raises(JsonRpcException, match="outside the document"):
        await code_actions(client, URI, span(0, 0, 4, 0))
    with pytest.raises(JsonRpcException, match=r"ends .* before it starts"):
        await code_actions(client, URI, span(2, 0, 1, 0))
    for argument in ([{"uri": URI}], [], ["text"], [{"uri": URI, "version": "1", "range": span(0, 0, 1, 0)}]):
        with pytest.raises(JsonRpcException, match=r"bad argument|takes one object") as failure:
            await broken_command(client, argument)
        assert failure.value.code == INVALID_PARAMS
    assert (await inline(client, URI, pos(2, 999))).items  # past the end of a line: the line's end (LSP)
    open_doc(client, "file:///work/empty.py", "")
    assert not await code_actions(client, "file:///work/empty.py", span(0, 0, 0, 0))
    assert (await inline(client, "file:///work/empty.py", pos(0, 0))).items


async def broken_command(client: RecordingClient, arguments: list) -> object:
    converter = client.protocol._converter
    arguments = [converter.unstructure(a) if hasattr(a, "__attrs_attrs__") else a for a in arguments]
    for a in arguments:
        if isinstance(a, dict) and "range" in a and not isinstance(a["range"], dict):
            a["range"] = converter.unstructure(a["range"])
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="magicoder.ask", arguments=arguments)
    )
