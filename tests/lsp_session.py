"""Shared pieces of the end-to-end LSP tests (pytest-lsp over stdio): client, capabilities, helpers."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from scripted_editor import fix_code_action_union

SERVER = [sys.executable, "-m", "lsp_server", "--stdio"]
CLIENTS = ("visual-studio-code", "neovim")
STATUS = "magicoder/status"


def make_client() -> LanguageClient:
    """pytest-lsp's client, recording applied edits and status notifications."""
    client = make_test_lsp_client()
    fix_code_action_union(client.protocol._converter)
    client.applied_edits = []
    client.statuses = []
    client.apply_result = types.ApplyWorkspaceEditResult(applied=True)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied_edits.append(params)
        return client.apply_result

    @client.feature(STATUS)
    def status(params) -> None:
        client.statuses.append(params if isinstance(params, dict) else params._asdict())  # pygls: a namedtuple

    return client


def config(*server_args: str) -> ClientServerConfig:
    return ClientServerConfig(server_command=[*SERVER, *server_args], client_factory=make_client)


def capabilities(name: str) -> types.ClientCapabilities:
    """A client's capability set; VS Code gets inline completion (built in since VS Code 1.91)."""
    caps = client_capabilities(name)
    if name == "visual-studio-code":
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


async def wait_until(condition: Callable[[], object], timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


async def start(client: LanguageClient, name: str = "visual-studio-code", options: object = None,
                wait_for_model: bool = True) -> None:
    """initialize + initialized; then (bounded) wait until the model is ready or failed."""
    client.client_name = name
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities(name), initialization_options=options)
    )
    if wait_for_model:
        await wait_until(lambda: client.statuses and client.statuses[-1]["state"] in ("ready", "error"),
                         timeout=120, what="the model to load")


async def finish(client: LanguageClient) -> None:
    """Fixture teardown: shut the session down unless the test did."""
    if not getattr(client, "shut_down", False):
        await client.shutdown_session()


def fake_server(*server_args: str, options: object = None, clients: tuple[str, ...] | None = None):
    """A pytest-lsp fixture: a server on the fake engine, initialized (per client capability set, when given)."""

    @pytest_lsp.fixture(config=config("--fake-engine", *server_args), params=clients)
    async def fixture(lsp_client: LanguageClient, request):
        await start(lsp_client, getattr(request, "param", "visual-studio-code"), options=options)
        yield
        await finish(lsp_client)

    return fixture


def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python", version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, version, text)))


def change_doc(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


def pos(line: int, character: int) -> types.Position:
    return types.Position(line, character)


def span(start_line: int, start_char: int, end_line: int, end_char: int) -> types.Range:
    return types.Range(pos(start_line, start_char), pos(end_line, end_char))


async def code_actions(client: LanguageClient, uri: str, selection: types.Range,
                       diagnostics: list[types.Diagnostic] | None = None, only: list[str] | None = None):
    context = types.CodeActionContext(diagnostics=diagnostics or [], only=only)
    return await client.text_document_code_action_async(
        types.CodeActionParams(types.TextDocumentIdentifier(uri), selection, context)
    )


async def run_action(client: LanguageClient, action: types.CodeAction) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=action.command.command, arguments=action.command.arguments)
    )


async def inline(client: LanguageClient, uri: str, position: types.Position):
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri),
            position=position,
        )
    )


async def complete(client: LanguageClient, uri: str, position: types.Position):
    return await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri), position=position)
    )


def edits_of(params: types.ApplyWorkspaceEditParams) -> dict[str, list[types.TextEdit]]:
    """uri -> text edits of a workspace edit, whichever shape it has (documentChanges or changes)."""
    edit = params.edit
    if edit.document_changes:
        return {c.text_document.uri: list(c.edits) for c in edit.document_changes if hasattr(c, "edits")}
    return {uri: list(edits) for uri, edits in (edit.changes or {}).items()}
