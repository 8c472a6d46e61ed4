"""JSON-RPC and LSP conformance on top of pygls 2.1.1's LanguageServerProtocol.

pygls 2.1.1, as measured:
- logs and drops a request whose params fail to deserialize: the client waits forever. Here it gets
  -32602 InvalidParams (a request whose id or method is unusable gets -32600 with id null);
- drops requests after ``shutdown`` silently: here they get -32600 InvalidRequest (LSP);
- runs requests before ``initialize``: here they get -32002 ServerNotInitialized, and
  notifications other than ``exit`` are dropped (LSP);
- answers nothing to a frame that is not JSON or not a message: here -32700 / -32600 with id null;
- stops a cancelled command's future but not the generation behind it: $/cancelRequest here
  also cancels the request's CancelToken (see MagicoderServer.request_cancelled);
- ignores the workDoneToken of workspace/executeCommand: here the command's progress uses it;
- fails ``shutdown`` with an InternalError when requests are in flight (it cancels their futures
  while iterating over the dict their callbacks remove them from): here it iterates over a copy;
- keeps the future of every notification handled by a generator (its own didOpen/didChange/didClose
  handlers) in ``_request_futures`` for ever, ~2 kB a keystroke: here it is removed once done;
- keeps, likewise, the task of every handler a generator request handler yields to (its own
  workspace/executeCommand runs each command so, under an id of its own that nothing pops): every Ask
  left its task there, and a failed or cancelled one its exception's frames, the document with them:
  here it is removed once done.
"""

from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import lsp_method

from .sync import DocumentSync

if TYPE_CHECKING:
    from .server import MagicoderServer

log = logging.getLogger(__name__)

INVALID_REQUEST, INVALID_PARAMS, PARSE_ERROR, NOT_INITIALIZED = -32600, -32602, -32700, -32002
# The client's workDoneToken of the workspace/executeCommand being handled, if it sent one.
WORK_DONE_TOKEN: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "work_done_token", default=None
)
_IN_NOTIFICATION: contextvars.ContextVar[bool] = contextvars.ContextVar("in_notification", default=False)
_IN_GENERATOR: contextvars.ContextVar[bool] = contextvars.ContextVar("in_generator", default=False)


@attrs.define
class BadMessage:
    """A message that could not be deserialized, kept so that it can still be answered."""

    msg_id: int | str | None
    method: str | None
    kind: str  # "request", "response" or "notification"
    code: int
    message: str


# A message's kind, by the attributes pygls' runtime-checkable RPCRequest, RPCNotification and RPCResponse
# protocols name: isinstance against those goes through typing's machinery, ~12 µs a check on every message.
_REQUEST = ("id", "method", "jsonrpc", "params")
_NOTIFICATION = ("method", "jsonrpc", "params")
_RESPONSE = ("id", "jsonrpc", "result")


def _kind(message: Any) -> tuple[str, ...] | None:
    """_REQUEST, _NOTIFICATION, _RESPONSE, or None (an error response)."""
    for kind in (_REQUEST, _NOTIFICATION, _RESPONSE):
        if all(hasattr(message, name) for name in kind):
            return kind
    return None


def _valid_id(value: object) -> bool:
    return type(value) in (int, str)


def _details(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    if isinstance(cause, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(cause)[:3])
    return str(cause) or type(cause).__name__


class MagicoderProtocol(DocumentSync):
    _server: MagicoderServer  # the protocol_cls of MagicoderServer only

    def __init__(self, server: MagicoderServer, converter: Any):
        super().__init__(server, converter)
        self.initialize_received = False

    # -- deserializing ---------------------------------------------------------------------
    def structure_message(self, data: dict[str, Any]):
        if not isinstance(data, dict) or "jsonrpc" not in data:
            return data
        if "id" in data and not _valid_id(data["id"]):  # pygls would take it, then fail to answer it
            method = data.get("method") if isinstance(data.get("method"), str) else None
            kind = "request" if "method" in data else "response"
            return BadMessage(
                None,
                method,
                kind,
                INVALID_REQUEST,
                f"invalid request: the id must be a string or an integer, not {data['id']!r:.40}",
            )
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            return self._bad_message(data, exc)

    @staticmethod
    def _bad_message(data: dict[str, Any], exc: JsonRpcException) -> BadMessage:
        method, msg_id = data.get("method"), data.get("id")
        method = method if isinstance(method, str) else None
        msg_id = msg_id if _valid_id(msg_id) else None
        if "method" in data and "id" in data:
            if msg_id is not None and method is not None:
                return BadMessage(
                    msg_id, method, "request", INVALID_PARAMS, f"invalid params for {method}: {_details(exc)}"
                )
            return BadMessage(msg_id, method, "request", INVALID_REQUEST, f"invalid request: {_details(exc)}")
        if "id" in data:
            return BadMessage(msg_id, None, "response", INVALID_PARAMS, _details(exc))
        return BadMessage(
            None, method, "notification", INVALID_PARAMS, f"invalid notification {method!r}: {_details(exc)}"
        )

    # -- dispatching -----------------------------------------------------------------------
    def send_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """An error response; with id null when the request's id is unknown (JSON-RPC 2.0)."""
        if msg_id is None:
            self._send_data({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})
        else:
            self._send_response(msg_id, error=types.ResponseError(code=code, message=message))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, BadMessage):
            self._handle_bad_message(message)
            return
        if getattr(message, "jsonrpc", None) != "2.0":  # not an object, no "jsonrpc", or another version
            msg_id = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
            log.warning("not a JSON-RPC 2.0 message: %.200r", message)
            self.send_error(msg_id if _valid_id(msg_id) else None, INVALID_REQUEST, "not a JSON-RPC 2.0 message")
            return
        kind = _kind(message)
        if kind is _REQUEST:
            refusal = self._refusal(message.method)
            if refusal is not None:
                self.send_error(message.id, *refusal)
                return
            self.initialize_received |= message.method == types.INITIALIZE
        elif kind is _NOTIFICATION and not self.initialize_received and message.method != types.EXIT:
            log.warning("dropped %s: the server is not initialized yet", message.method)
            return
        self._dispatch(message, kind)

    def _dispatch(self, message: Any, kind: tuple[str, ...] | None) -> None:
        """pygls' handle_message, given the message's kind."""
        if self._shutdown and getattr(message, "method", "") != types.EXIT:
            log.warning("the server is shutting down: %s dropped", getattr(message, "method", "a response"))
            return
        ctx = contextvars.copy_context()  # each handler runs in its own context
        if kind is _REQUEST:
            ctx.run(self._handle_request, message.id, message.method, message.params)
        elif kind is _NOTIFICATION:
            ctx.run(self._handle_notification, message.method, message.params)
        elif kind is _RESPONSE:
            ctx.run(self._handle_response, message.id, message.result)
        else:
            ctx.run(self._handle_response, message.id, None, message.error)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        inside = _IN_NOTIFICATION.set(True)
        try:
            super()._handle_notification(method_name, params)
        finally:
            _IN_NOTIFICATION.reset(inside)

    def _run_generator(self, future: Any, *, gen: Any, result_future: Any) -> None:
        inside = _IN_GENERATOR.set(True)
        try:
            super()._run_generator(future, gen=gen, result_future=result_future)
        finally:
            _IN_GENERATOR.reset(inside)

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        unanswered = _IN_NOTIFICATION.get() or _IN_GENERATOR.get()
        future = self._request_futures.get(msg_id) if unanswered else None
        if future is not None:  # a notification's, or a generator's step: nothing will ever answer it and pop it
            future.add_done_callback(lambda _: self._request_futures.pop(msg_id, None))

    def _refusal(self, method: str) -> tuple[int, str] | None:
        if self._shutdown and method != types.EXIT:
            return INVALID_REQUEST, f"{method}: the server is shutting down"
        if method == types.INITIALIZE and self.initialize_received:
            return INVALID_REQUEST, "initialize was already received"
        if method != types.INITIALIZE and not self.initialize_received:
            return NOT_INITIALIZED, f"{method}: the server is not initialized yet"
        return None

    def _handle_bad_message(self, bad: BadMessage) -> None:
        log.warning("%s", bad.message)
        if bad.kind == "request":
            refusal = self._refusal(bad.method or "")
            self.send_error(bad.msg_id, *(refusal or (bad.code, bad.message)))
        elif bad.kind == "response" and bad.msg_id is not None:
            # Fail the server's own request instead of leaving it waiting forever.
            self._handle_response(bad.msg_id, None, types.ResponseError(code=bad.code, message=bad.message))

    def _handle_cancel_notification(self, msg_id: int | str) -> None:
        super()._handle_cancel_notification(msg_id)
        self._server.request_cancelled(msg_id)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: types.ExecuteCommandParams):
        WORK_DONE_TOKEN.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args):
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        self.cancel_requests(but=self.msg_id)
        self._shutdown = True
        return None

    def cancel_requests(self, but: Any = None) -> None:
        """Cancel every request still being handled but ``but``: each is answered as cancelled, and its handler's
        task ends before the event loop closes (pygls would otherwise fail the task's callback, noisily)."""
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != but and not future.done():
                future.cancel()
