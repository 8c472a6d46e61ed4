"""The end-to-end LSP tests' session (pytest-lsp over stdio): a recording client, fixtures of servers on the fake
engine, and the requests the tests send."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

from scripted_editor import fix_code_action_union

from .clients import VSCODE, capabilities
from .waiting import wait_until

SERVER = [sys.executable, "-m", "lsp_server", "--stdio"]
STATUS = "magicoder/status"


class RecordingClient(LanguageClient):
    """pytest-lsp's client (its make_test_lsp_client), recording applied edits and status notifications too."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)
        register_lsp_features(self)
        fix_code_action_union(self.protocol._converter)
        self.client_name = VSCODE  # the editor whose capabilities it sends (clients.CLIENTS)
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.statuses: list[dict] = []
        self.apply_result = types.ApplyWorkspaceEditResult(applied=True)  # what it answers workspace/applyEdit
        # When set, answers workspace/applyEdit instead (an editor applying the edit to its documents).
        self.on_apply_edit: Callable[[types.ApplyWorkspaceEditParams], types.ApplyWorkspaceEditResult] | None = None
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.message_choice: str | None = None  # the action the user picks in window/showMessageRequest
        self.shut_down = False  # the test ended the session itself


def make_client() -> RecordingClient:
    client = RecordingClient()

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied_edits.append(params)
        return client.on_apply_edit(params) if client.on_apply_edit else client.apply_result

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show_message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        client.message_requests.append(params)
        return types.MessageActionItem(client.message_choice) if client.message_choice else None

    @client.feature(STATUS)
    def status(params) -> None:
        client.statuses.append(params if isinstance(params, dict) else params._asdict())  # pygls: a namedtuple

    return client


Progress = types.WorkDoneProgressBegin | types.WorkDoneProgressReport | types.WorkDoneProgressEnd


def progress_reports(client: LanguageClient) -> dict[types.ProgressToken, list[Progress]]:
    """The $/progress values the client received, by token.

    pytest-lsp records each notification's value, structured as a begin, report or end, though it annotates
    ``progress_reports`` as holding the ProgressParams.
    """
    reports: dict[types.ProgressToken, list[Progress]] = {}
    for token, values in client.progress_reports.items():
        received: list[object] = list(values)
        typed = [v for v in received if isinstance(v, Progress)]
        assert len(typed) == len(received), received
        reports[token] = typed
    return reports


def progress_title(reports: Sequence[Progress]) -> str:
    """A progress's title, from its begin report ("" before it began)."""
    first = reports[0] if reports else None
    return first.title if isinstance(first, types.WorkDoneProgressBegin) else ""


def ask_progress(client: LanguageClient) -> tuple[types.ProgressToken | None, list[Progress]]:
    """The token and reports of the one Ask Magicoder progress (the model's loading has one too)."""
    found = [
        (token, reports)
        for token, reports in progress_reports(client).items()
        if progress_title(reports).startswith("Ask Magicoder")
    ]
    assert len(found) <= 1
    return found[0] if found else (None, [])


def config(*server_args: str, env: Mapping[str, str] | None = None) -> ClientServerConfig:
    """The server command (with ``server_args``), in ``env`` when given (else this process's environment)."""
    return ClientServerConfig(
        server_command=[*SERVER, *server_args],
        client_factory=make_client,
        server_env=None if env is None else dict(env),
    )


async def start(
    client: RecordingClient, name: str = VSCODE, options: object = None, wait_for_model: bool = True
) -> None:
    """initialize + initialized; then (bounded) wait until the model is ready or failed."""
    client.client_name = name
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities(name), initialization_options=options)
    )
    if wait_for_model:
        await wait_until(
            lambda: client.statuses and client.statuses[-1]["state"] in ("ready", "error"),
            timeout=120,
            what="the model to load",
        )


async def finish(client: RecordingClient) -> None:
    """Fixture teardown: shut the session down unless the test did."""
    if not client.shut_down:
        await client.shutdown_session()


def fake_server(*server_args: str, options: object = None, clients: tuple[str, ...] | None = None):
    """A pytest-lsp fixture: a server on the fake engine, initialized (per client capability set, when given)."""

    @pytest_lsp.fixture(config=config("--fake-engine", *server_args), params=clients)
    async def fixture(lsp_client: RecordingClient, request):
        await start(lsp_client, getattr(request, "param", VSCODE), options=options)
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


async def code_actions(
    client: LanguageClient,
    uri: str,
    selection: types.Range,
    diagnostics: list[types.Diagnostic] | None = None,
    only: list[str] | None = None,
):
    context = types.CodeActionContext(diagnostics=diagnostics or [], only=only)
    return await client.text_document_code_action_async(
        types.CodeActionParams(types.TextDocumentIdentifier(uri), selection, context)
    )


def send(client: LanguageClient, method: str, params: object, msg_id: str) -> asyncio.Future:
    """A request with our own id (to cancel it); pytest-lsp sends it when the task first runs."""
    return asyncio.ensure_future(client.protocol.send_request_async(method, params, msg_id=msg_id))


async def execute(client: LanguageClient, command: str, arguments: Sequence[object] | None = None) -> dict:
    """workspace/executeCommand: the server answers its commands with an outcome object."""
    outcome = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=arguments)
    )
    assert isinstance(outcome, dict), outcome
    return outcome


async def run_action(client: LanguageClient, action: types.CodeAction) -> dict:
    assert action.command is not None, action
    return await execute(client, action.command.command, action.command.arguments)


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


def kept_answer(outcome: dict) -> str:
    """The text of the file an answer that edited nothing was saved to (magicoder.ask's answerUri); the file is
    removed."""
    kept = Path(url2pathname(urlparse(outcome["answerUri"]).path))
    text = kept.read_text(encoding="utf-8")
    kept.unlink()
    return text
