"""End to end over stdio (pytest-lsp): the real server process on the tiny ONNX model."""

from __future__ import annotations

import asyncio
import sys

import pytest
import pytest_lsp
from conftest import TEST_MODEL
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from demo.client import apply_text_edits, fix_code_action_union
from lsp_server.assist import answer_to_code, ask_prompt, inline_context, inline_prompt, inline_text, plan_ask
from lsp_server.prompts import FimTokens

SERVER = [sys.executable, "-m", "lsp_server", "--stdio"]
URI = "file:///work/example.py"
SOURCE = """import json


# return the sum of the squares of xs
def total(xs):
    result = 0
    for x in xs:
        result += x * x
    return result


def main():
    values = [1, 2, 3]
    
"""
ASK_RANGE = types.Range(types.Position(3, 0), types.Position(8, 17))  # comment + function
INLINE_AT = types.Position(13, 4)


def make_client() -> LanguageClient:
    client = make_test_lsp_client()
    fix_code_action_union(client.protocol._converter)
    return client


def config(*server_args: str) -> ClientServerConfig:
    return ClientServerConfig(server_command=[*SERVER, *server_args], client_factory=make_client)


def capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


def setup_client(client: LanguageClient) -> list[types.ApplyWorkspaceEditParams]:
    edits: list[types.ApplyWorkspaceEditParams] = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature("magicoder/status")
    def status(params) -> None:
        pass

    client.applied_edits = edits
    return edits


@pytest_lsp.fixture(config=config("--model", str(TEST_MODEL)))
async def client(lsp_client: LanguageClient, tiny_model):
    setup_client(lsp_client)
    await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=config("--model", str(TEST_MODEL) + "-missing"))
async def modelless(lsp_client: LanguageClient):
    setup_client(lsp_client)
    await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities()))
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, text: str = SOURCE, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(URI, "python", version, text))
    )


async def ask_actions(client: LanguageClient, wait_ready: bool = True) -> list[types.CodeAction]:
    """Code actions for ASK_RANGE; waits (bounded) until the model has loaded."""
    params = types.CodeActionParams(
        types.TextDocumentIdentifier(URI), ASK_RANGE, types.CodeActionContext(diagnostics=[])
    )
    for _ in range(300):
        actions = await client.text_document_code_action_async(params)
        if not wait_ready or not actions or actions[0].disabled is None:
            return actions
        await asyncio.sleep(0.1)
    raise AssertionError(f"the model never loaded: {actions[0].disabled}")


async def test_ask_magicoder_applies_a_versioned_edit_with_the_models_answer(client: LanguageClient, engine):
    open_doc(client, version=7)
    actions = await ask_actions(client)
    assert [a.title for a in actions] == ["Ask Magicoder: return the sum of the squares of xs"]
    command = actions[0].command
    assert command.command == "magicoder.ask"

    outcome = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    assert outcome["applied"] is True
    assert len(client.applied_edits) == 1
    (change,) = client.applied_edits[0].edit.document_changes
    assert change.text_document.uri == URI and change.text_document.version == 7
    (edit,) = change.edits
    lines = SOURCE.split("\n")
    # The comment stays; the function's lines (4..8) are replaced, end at the end of line 8.
    assert (edit.range.start.line, edit.range.start.character) == (4, 0)
    assert (edit.range.end.line, edit.range.end.character) == (8, len(lines[8]))
    # Exactly what the engine answers for Magicoder's prompt, cut at the fence and re-indented.
    plan = plan_ask(lines, 3, 8, "python")
    expected = engine.complete(ask_prompt(plan, engine.manifest.prompt.template, "python"), 256, ["\n```"])
    assert edit.new_text == answer_to_code(expected.text, plan)
    assert apply_text_edits(SOURCE, [edit]).startswith("import json\n\n\n# return the sum of the squares of xs\n")


async def test_inline_completion_is_the_models_fim_answer(client: LanguageClient, engine):
    open_doc(client)
    await ask_actions(client)  # model loaded
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(URI),
            position=INLINE_AT,
        )
    )
    assert isinstance(result, types.InlineCompletionList)
    ctx = inline_context(SOURCE, len("\n".join(SOURCE.split("\n")[:13])) + 1 + 4)
    m = engine.manifest.prompt
    prompt = inline_prompt(ctx, FimTokens(m.fim_begin, m.fim_hole, m.fim_end), engine.count_tokens, 1024)
    raw = engine.complete(prompt, 48, () if ctx.multiline else ("\n",))
    expected = inline_text(raw.text, ctx)
    assert [item.insert_text for item in result.items] == ([expected] if expected else [])
    for item in result.items:
        assert item.range == types.Range(INLINE_AT, INLINE_AT)


async def test_stale_version_is_refused_and_nothing_is_edited(client: LanguageClient):
    open_doc(client)
    (action,) = await ask_actions(client)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=URI),
            [types.TextDocumentContentChangeWholeDocument(SOURCE + "# typed meanwhile\n")],
        )
    )
    with pytest.raises(JsonRpcException, match="changed since"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
        )
    assert client.applied_edits == []


async def test_unknown_document_and_bad_positions_are_errors_not_crashes(client: LanguageClient):
    with pytest.raises(JsonRpcException, match="not open"):
        await client.text_document_code_action_async(
            types.CodeActionParams(
                types.TextDocumentIdentifier("file:///nope.py"), ASK_RANGE, types.CodeActionContext(diagnostics=[])
            )
        )
    open_doc(client)
    with pytest.raises(JsonRpcException, match="outside the document"):
        await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(URI),
                position=types.Position(999, 0),
            )
        )
    with pytest.raises(JsonRpcException, match="bad argument|takes one object"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="magicoder.ask", arguments=[{"uri": URI}])
        )
    assert len(await ask_actions(client)) == 1  # still serving


async def test_missing_model_starts_explains_and_answers_with_errors(modelless: LanguageClient):
    open_doc(modelless)
    actions = await ask_actions(modelless, wait_ready=False)
    for _ in range(100):
        if modelless.messages:
            break
        await asyncio.sleep(0.05)
    assert any("magicoder-export tiny" in m.message for m in modelless.messages)
    assert modelless.messages[0].type == types.MessageType.Error
    with pytest.raises(JsonRpcException, match="unavailable.*does not exist"):
        await modelless.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(URI),
                position=INLINE_AT,
            )
        )
    actions = await ask_actions(modelless, wait_ready=False)
    assert actions[0].disabled is not None and "does not exist" in actions[0].disabled.reason
    with pytest.raises(JsonRpcException, match="unavailable"):
        await modelless.workspace_execute_command_async(
            types.ExecuteCommandParams(command="magicoder.ask", arguments=actions[0].command.arguments)
        )
