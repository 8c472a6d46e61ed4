"""The LSP methods the server implements, wired to the handlers (errors become JSON-RPC errors)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from ..errors import LspError
from ..handlers import config
from ..handlers.actions import ASK_COMMAND, KINDS, code_actions
from ..handlers.ask import execute_ask
from ..handlers.inline import completion_items, inline_items
from ..model_host import API_KEY_NOTIFICATION
from .server import MagicoderServer

log = logging.getLogger(__name__)


@contextmanager
def answering(ls: MagicoderServer) -> Iterator[None]:
    """Around a request handler: our errors as JSON-RPC errors; the request's cancel hook dropped at the end."""
    msg_id = ls.protocol.msg_id
    try:
        yield
    except LspError as exc:
        if ls.was_cancelled(msg_id):
            log.debug("%s (the request was cancelled: already answered)", exc.message)
            return  # nobody would collect the error: asyncio would warn "exception never retrieved"
        raise JsonRpcException(exc.message, exc.code) from exc
    finally:
        ls.forget(("request", msg_id))


async def _completion(ls: MagicoderServer, params: types.CompletionParams) -> types.CompletionList:
    with answering(ls):
        found = await ls.inline.complete(params.text_document.uri, params.position)
        return completion_items(found, params.position, ls.encoding)


def _has_inline_completion(ls: MagicoderServer) -> bool:
    text_document = ls.client_capabilities.text_document
    return bool(text_document and text_document.inline_completion is not None)


def register(server: MagicoderServer) -> MagicoderServer:
    @server.feature(types.INITIALIZE)
    def initialize(ls: MagicoderServer, params: types.InitializeParams) -> None:
        config.initialize(ls, params.initialization_options)
        ls.watch_parent(params.process_id)
        # Clients without inline completion (Neovim, older VS Code) get the answer as a completion item.
        if not _has_inline_completion(ls) and types.TEXT_DOCUMENT_COMPLETION not in ls.protocol.fm.features:
            ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))(_completion)

    @server.feature(types.INITIALIZED)
    def initialized(ls: MagicoderServer, params: types.InitializedParams) -> None:
        config.start(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: MagicoderServer, params: types.DidChangeConfigurationParams) -> None:
        await config.did_change_configuration(ls, params.settings)

    @server.feature(API_KEY_NOTIFICATION)
    def api_key(ls: MagicoderServer, params: object) -> None:
        config.api_key(ls, params)  # the params hold a secret: never logged

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: MagicoderServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.progress_cancelled(params.token)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: MagicoderServer, params: None) -> None:
        ls.cancel_everything()  # no generation outlives the session

    @server.feature(types.EXIT)
    def exit_(ls: MagicoderServer, params: None) -> None:
        ls.ending(0 if ls.protocol._shutdown else 1)  # pygls' rule for the status it then exits with

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=list(dict.fromkeys(KINDS.values())), resolve_provider=False),
    )
    def code_action(ls: MagicoderServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        with answering(ls):
            return code_actions(ls, params)

    @server.command(ASK_COMMAND)
    async def ask(ls: MagicoderServer, *args: object) -> dict:
        with answering(ls):
            return await execute_ask(ls, args)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: MagicoderServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList:
        with answering(ls):
            return inline_items(await ls.inline.complete(params.text_document.uri, params.position), params.position)

    return server
