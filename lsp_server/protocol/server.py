"""MagicoderServer: pygls' LanguageServer as the handlers' Host (documents, client calls, progress, cancellation)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from .. import __version__
from ..changelog import ChangeLog, TextChange
from ..documents import Document, DocumentStore
from ..engine.api import CancelToken
from ..errors import InvalidParams
from ..handlers.inline import InlineCompleter
from ..model_host import EngineFactory, ModelHost, real_engine
from ..parent_watch import ParentWatch
from ..settings import SECTION, Settings
from .jsonrpc import PARSE_ERROR, WORK_DONE_TOKEN, MagicoderProtocol
from .stdio import PipeReader, pipe_readable

log = logging.getLogger(__name__)
CANCELLED_IDS_KEPT = 64
CLIENT_TIMEOUT_S = 10.0  # for the server's own requests that it waits on (progress create, configuration)


def _fs_path(uri: str) -> Path | None:
    """The file a file: URI names (None for other schemes)."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(path) if path else None


class _NoProgress:
    def report(self, message: str | None = None, percentage: int | None = None) -> None:
        pass

    def end(self, message: str | None = None) -> None:
        pass


class _Progress:
    def __init__(self, server: MagicoderServer, token: types.ProgressToken):
        self.server, self.token = server, token

    def report(self, message: str | None = None, percentage: int | None = None) -> None:
        self.server.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
        )

    def end(self, message: str | None = None) -> None:
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(self.token, None)
        self.server.forget(("progress", self.token))


class MagicoderServer(LanguageServer):
    protocol: MagicoderProtocol  # made with protocol_cls=MagicoderProtocol below

    def __init__(self, model_override: str | None = None, engine_factory: EngineFactory = real_engine):
        super().__init__("magicoder-lsp", __version__, protocol_cls=MagicoderProtocol)
        self.model_override = model_override
        self.settings = Settings()
        self.model = ModelHost(self, engine_factory)
        self.inline = InlineCompleter(self)
        self._cancels: dict[tuple[str, Any], CancelToken] = {}
        self.documents = DocumentStore(_fs_path)  # filled by DocumentSync (sync.py)
        self._cancelled_ids: deque[int | str] = deque(maxlen=CANCELLED_IDS_KEPT)
        self._parent_watch: ParentWatch | None = None
        self.exit_code = 0
        self.change_log = ChangeLog()  # filled by DocumentSync beside the store

    # -- documents -------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        return str(self.server_capabilities.position_encoding or types.PositionEncodingKind.Utf16)

    def document(self, uri: str) -> Document:
        doc = self.documents.get(uri)
        if doc is None:
            raise InvalidParams(f"document {uri} is not open")
        return doc

    def open_documents(self) -> list[Document]:
        return self.documents.all()

    def changes_since(self, uri: str, version: int) -> list[TextChange] | None:
        try:
            now = self.document(uri).version
        except InvalidParams:
            return None
        return self.change_log.since(uri, version, now)

    # -- messages to the client ------------------------------------------------------------
    def notify(self, method: str, params: dict) -> None:
        self.protocol.notify(method, params)

    def show_message(self, kind: types.MessageType, text: str) -> None:
        self.window_show_message(types.ShowMessageParams(kind, text))

    async def show_message_request(self, kind: types.MessageType, text: str, actions: list[str]) -> str | None:
        items = [types.MessageActionItem(title) for title in actions]
        try:  # no time limit: the user answers when they like
            chosen = await self.window_show_message_request_async(types.ShowMessageRequestParams(kind, text, items))
        except JsonRpcException as exc:  # an editor without it: the message alone
            log.warning("the client did not answer: %r", exc)
            self.show_message(kind, text)
            return None
        except ConnectionError as exc:
            log.warning("the client did not answer: %r", exc)
            return None
        return chosen.title if chosen else None

    def log_message(self, kind: types.MessageType, text: str) -> None:
        self.window_log_message(types.LogMessageParams(kind, text))

    async def _ask_client(self, call: Any) -> Any:
        try:
            return await asyncio.wait_for(call, CLIENT_TIMEOUT_S)
        except (JsonRpcException, asyncio.TimeoutError, ConnectionError) as exc:
            log.warning("the client did not answer: %r", exc)
            return None

    async def apply_edit(self, edit: types.WorkspaceEdit, label: str) -> types.ApplyWorkspaceEditResult:
        try:
            response = await self.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
        except JsonRpcException as exc:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=f"the editor answered: {exc}")
        return response or types.ApplyWorkspaceEditResult(applied=False)

    async def show_document(self, uri: str) -> None:
        window = self.client_capabilities.window
        if window and window.show_document and window.show_document.support:
            await self._ask_client(self.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True)))

    async def configuration(self) -> object:
        workspace = self.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return None
        items = [types.ConfigurationItem(section=SECTION)]
        result = await self._ask_client(self.workspace_configuration_async(types.ConfigurationParams(items=items)))
        return result[0] if result else None

    async def begin_progress(self, title: str, message: str, cancel: CancelToken | None = None) -> Any:
        token = WORK_DONE_TOKEN.get()
        if token is None:
            window = self.client_capabilities.window
            if not (window and window.work_done_progress):
                return _NoProgress()
            token = f"magicoder-{uuid.uuid4()}"
            try:
                await asyncio.wait_for(self.work_done_progress.create_async(token), CLIENT_TIMEOUT_S)
            except (JsonRpcException, asyncio.TimeoutError) as exc:
                log.warning("no work-done progress: %r", exc)
                return _NoProgress()
        if cancel is not None:
            self._cancels[("progress", token)] = cancel
        begin = types.WorkDoneProgressBegin(title=title, message=message, cancellable=cancel is not None, percentage=0)
        self.work_done_progress.begin(token, begin)
        return _Progress(self, token)

    # -- cancellation ----------------------------------------------------------------------
    def track_request(self, cancel: CancelToken) -> None:
        msg_id = self.protocol.msg_id
        if msg_id is not None:
            self._cancels[("request", msg_id)] = cancel

    def forget(self, key: tuple[str, Any]) -> None:
        self._cancels.pop(key, None)

    def _cancel(self, key: tuple[str, Any]) -> None:
        cancel = self._cancels.pop(key, None)
        if cancel is not None:
            cancel.cancel()

    def request_cancelled(self, msg_id: int | str) -> None:
        """$/cancelRequest: stop the generation behind the request (pygls only cancels its future)."""
        self._cancelled_ids.append(msg_id)
        self._cancel(("request", msg_id))

    def was_cancelled(self, msg_id: int | str | None) -> bool:
        return msg_id is not None and msg_id in self._cancelled_ids

    def progress_cancelled(self, token: types.ProgressToken) -> None:
        """window/workDoneProgress/cancel: stop the generation the progress reports on."""
        self._cancel(("progress", token))

    def cancel_everything(self) -> None:
        for key in list(self._cancels):
            self._cancel(key)

    # -- the end of the session ------------------------------------------------------------
    def ending(self, code: int) -> None:
        """``exit``, or the editor gone: no generation outlives the session; ``code`` is the exit status
        (LSP: 0 after shutdown, else 1), which pygls' stdio loop swallows and the command returns."""
        self.cancel_everything()
        self.exit_code = code

    def watch_parent(self, pid: int | None) -> None:
        """Exit when the process that started the server (initialize's processId; None: none) has ended."""
        if pid is not None:
            self._parent_watch = ParentWatch.start(pid, self._parent_gone)

    def _parent_gone(self) -> None:
        self.ending(1)
        self.protocol.cancel_requests()  # as shutdown does: the loop closes with no request half-handled
        raise SystemExit(1)  # out of the event loop, as pygls' exit does

    # -- stdio -----------------------------------------------------------------------------
    def _start_io_async(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' stdio server, with stdin read by the event loop when it is a pipe (see stdio.py)."""
        stdin, stdout = stdin or sys.stdin.buffer, stdout or sys.stdout.buffer
        if not pipe_readable(stdin, stdout):
            super()._start_io_async(stdin, stdout)
            return
        log.info("Starting async IO server (stdin read by the event loop)")
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=PipeReader(stdin),
                    protocol=self.protocol,
                    logger=log,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            log.error("Connection to the client is lost! Shutting down the server.")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    # -- errors outside any request --------------------------------------------------------
    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log (never pop up) errors outside requests; answer a frame that is not JSON with -32700."""
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            self.protocol.send_error(None, PARSE_ERROR, f"parse error: {error}")
        if source is not FeatureRequestError:
            log.error("%s: %s", getattr(source, "__name__", source), error)
