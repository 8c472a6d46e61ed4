"""End to end over stdio (pytest-lsp): the real server process on the tiny ONNX model, under the
VS Code and Neovim capability sets (Neovim: UTF-8 positions, no documentChanges, no inline completion)."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from scripted_editor import apply_text_edits
from tests.helpers.clients import CLIENTS
from tests.helpers.edits import document_changes, plain_changes, text_document_edit
from tests.helpers.local_answers import local_ask, local_inline
from tests.helpers.lsp_session import (
    RecordingClient,
    code_actions,
    complete,
    config,
    finish,
    inline,
    open_doc,
    run_action,
    start,
)
from tests.helpers.paths import ROOT, TEST_MODEL
from tests.helpers.positions import pos, span

URI = "file:///work/example.py"
# The editor end-to-end test's sample file, plus an indented line to complete on.
SOURCE = (ROOT / "editor-client" / "e2e" / "sample.py").read_text(encoding="utf-8") + "    \n"
ASK_RANGE = span(3, 0, 8, 17)  # comment + function
INLINE_AT = pos(13, 4)


@pytest_lsp.fixture(config=config("--model", str(TEST_MODEL)), params=CLIENTS)
async def client(lsp_client: RecordingClient, tiny_model, request):
    await start(lsp_client, request.param)
    yield
    await finish(lsp_client)


@pytest_lsp.fixture(config=config("--model", str(TEST_MODEL) + "-missing"))
async def modelless(lsp_client: RecordingClient):
    await start(lsp_client)
    yield
    await finish(lsp_client)


async def test_ask_magicoder_applies_the_models_answer_to_the_right_lines(client: RecordingClient, engine):
    open_doc(client, URI, SOURCE, version=7)
    actions = await code_actions(client, URI, ASK_RANGE)
    assert actions[0].title == "Ask Magicoder: return the sum of the squares of xs"
    assert all(a.disabled is None for a in actions)

    outcome = await run_action(client, actions[0])
    assert outcome["applied"] is True
    (params,) = client.applied_edits
    if client.client_name == "visual-studio-code":
        (change,) = document_changes(params.edit)  # versioned: the editor refuses it if the text moved on
        versioned = text_document_edit(change)
        assert versioned.text_document.uri == URI and versioned.text_document.version == 7
        edits = versioned.edits
    else:  # no documentChanges support: the plain map (the server checked the version itself)
        edits = plain_changes(params.edit)[URI]
    (edit,) = edits
    # A text edit; annotated as needing confirmation (VS Code) when the answer was cut at maxNewTokens.
    assert isinstance(edit, (types.TextEdit, types.AnnotatedTextEdit)), edit
    lines = SOURCE.split("\n")
    # The comment stays; the function's lines (4..8) are replaced, up to the end of line 8.
    assert (edit.range.start.line, edit.range.start.character) == (4, 0)
    assert (edit.range.end.line, edit.range.end.character) == (8, len(lines[8]))
    # Exactly what the engine answers for Magicoder's prompt, cut at the fence and re-indented.
    assert edit.new_text == local_ask(engine, SOURCE, 3, 8)
    assert apply_text_edits(SOURCE, [types.TextEdit(edit.range, edit.new_text)]).startswith(
        "import json\n\n\n# return the sum of the squares of xs\n"
    )
    assert any(
        line.startswith("Ask Magicoder (ask): ") and "TTFT" in line for line in (m.message for m in client.log_messages)
    )


async def test_completion_is_the_models_fim_answer(client: RecordingClient, engine):
    """VS Code: textDocument/inlineCompletion; Neovim (none): the textDocument/completion fallback."""
    open_doc(client, URI, SOURCE)
    expected = local_inline(engine, SOURCE, len("\n".join(SOURCE.split("\n")[:13])) + 1 + 4)
    if client.client_name == "visual-studio-code":
        result = await inline(client, URI, INLINE_AT)
        assert [item.insert_text for item in result.items] == ([expected] if expected else [])
        assert all(item.range == types.Range(INLINE_AT, INLINE_AT) for item in result.items)
    else:
        result = await complete(client, URI, INLINE_AT)
        assert [item.text_edit.new_text for item in result.items] == ([expected] if expected else [])
        assert result.is_incomplete is True


async def test_stale_version_is_refused_and_nothing_is_edited(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    (action, *_) = await code_actions(client, URI, ASK_RANGE)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=2, uri=URI),
            [types.TextDocumentContentChangeWholeDocument(SOURCE + "# typed meanwhile\n")],
        )
    )
    with pytest.raises(JsonRpcException, match="changed since"):
        await run_action(client, action)
    assert client.applied_edits == []


async def test_missing_model_starts_explains_and_answers_with_errors(modelless: RecordingClient):
    open_doc(modelless, URI, SOURCE)
    for _ in range(100):
        if modelless.messages:
            break
        await asyncio.sleep(0.05)
    assert [m.type for m in modelless.messages] == [types.MessageType.Error]
    assert "magicoder-export tiny" in modelless.messages[0].message
    assert modelless.statuses[-1]["state"] == "error" and "does not exist" in modelless.statuses[-1]["message"]
    with pytest.raises(JsonRpcException, match=r"unavailable.*does not exist"):
        await inline(modelless, URI, INLINE_AT)
    actions = await code_actions(modelless, URI, ASK_RANGE)
    assert actions and all(a.disabled is not None and "does not exist" in a.disabled.reason for a in actions)
    with pytest.raises(JsonRpcException, match="unavailable"):
        await run_action(modelless, actions[0])
