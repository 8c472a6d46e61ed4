"""The model behind the server: loading and reloading it, running generations off the event loop,
the ``magicoder/status`` notification, the one message a user sees when the engine fails and the one
warning per load for a model folder that was not checked, or failed its check."""

from __future__ import annotations

import asyncio
import logging
import shlex
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from lsprotocol import types

from .engine.api import (
    BUILD_HINT,
    FINISH_CANCELLED,
    AsyncStreaming,
    CancelToken,
    EngineError,
    GenerationResult,
    InferenceEngine,
)
from .engine.endpoint import ApiKeys, origin_of
from .engine.gate import FAILED, MISSING, PENDING, UNREADABLE, GateStatus
from .engine.sampling import GREEDY, Sampling
from .errors import RequestFailed
from .settings import Settings

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "magicoder/status"
API_KEY_NOTIFICATION = "magicoder/apiKey"  # the editor -> the server: {origin, key | null}
PROGRESS_INTERVAL_S = 0.1  # partial answers are reported at most this often
BUSY_AFTER_S = 0.1  # "busy" only for generations that last: no status-bar flicker per keystroke
STATUS_REFRESH_S = 2.0  # short generations update the status's tok/s at most this often
OnText = Callable[[str, int], None]  # (answer so far, tokens so far)
EngineFactory = Callable[[Settings], InferenceEngine]  # the ONNX engine, or a stand-in


class Client(Protocol):
    """What the model host says to the editor."""

    def notify(self, method: str, params: dict) -> None: ...
    def show_message(self, kind: types.MessageType, text: str) -> None: ...
    async def begin_progress(self, title: str, message: str, cancel: CancelToken | None = None) -> Any: ...


def describe(what: str, result: GenerationResult, seconds: float) -> str:
    """One log line for a generation, with its timings."""
    return (
        f"{what}: {result.prompt_tokens} prompt tokens ({result.cached_tokens} cached), {len(result.token_ids)} new "
        f"({result.finish_reason}), TTFT {result.ttft_s * 1000:.1f} ms, {result.decode_tokens_per_s:.1f} tok/s, "
        f"decode {result.decode_s * 1000:.1f} ms, total {seconds * 1000:.1f} ms"
    )


GATE_PROBLEMS = {
    PENDING: "has not been checked against the model it was exported from",
    FAILED: "failed its {kind} check: its answers may be wrong",
    MISSING: "has no parity report ({report}): it has not been checked",
    UNREADABLE: "has an unreadable parity report ({report}: {detail})",
}


def gate_warning(gate: GateStatus | None) -> str | None:
    """What to tell the user about a model folder that was not checked or failed its check (None: nothing)."""
    if gate is None or gate.passed:
        return None
    problem = GATE_PROBLEMS[gate.status].format(kind=gate.kind, report=gate.report, detail=gate.detail)
    command = f"magicoder-export validate {shlex.quote(str(gate.folder))}"
    check = "Remove that report, then check the folder with" if gate.status == UNREADABLE else "Check it with"
    return (
        f"Magicoder: the model folder {gate.folder} {problem} (parity status: {gate.status}). {check} "
        f"`{command}` (add `--reference HF_CHECKPOINT` when the checkpoint it was exported from has moved)."
    )


def real_engine(settings: Settings) -> InferenceEngine:
    """The configured engine: the ONNX engine on the model folder (onnxruntime is imported here, not before),
    or with backend "openai" the remote engine (which never imports onnxruntime)."""
    if settings.backend == "openai":
        try:
            from .engine.remote import RemoteEngine, find_tokenizer, folder_manifest
        except ImportError as exc:
            raise EngineError(
                f"the remote backend needs {exc.name}: install it with pip install 'magicoder-lsp[remote]'"
            ) from exc

        manifest = folder_manifest(settings.model)  # a model folder, when set: its tokenizer and prompt format
        return RemoteEngine(
            settings.endpoint,
            find_tokenizer(settings.tokenizer, settings.model, manifest),
            model=settings.remote_model,
            ca_bundle=settings.ca_bundle,
            allow_insecure=settings.allow_insecure,
            prompt_format=manifest.prompt if manifest else None,
        )
    if not settings.model:
        raise EngineError(f"no model folder is configured: {BUILD_HINT}")
    from .engine.engine import Engine

    return Engine(Path(settings.model), settings.threads, settings.device)


class _Progress:
    """The answer so far, handed to ``on_text`` at most every PROGRESS_INTERVAL_S."""

    def __init__(self, on_text: OnText | None, result: GenerationResult):
        self.on_text, self.result = on_text, result
        self.text, self.reported = "", time.monotonic()

    def add(self, piece: str, call: Callable[..., object]) -> None:
        self.text += piece
        if self.on_text is not None and time.monotonic() - self.reported >= PROGRESS_INTERVAL_S:
            self.reported = time.monotonic()
            call(self.on_text, self.text, len(self.result.token_ids))


class ModelHost:
    def __init__(self, client: Client, factory: EngineFactory = real_engine):
        self.client = client
        self.factory = factory
        self.current: InferenceEngine | None = None
        self.error: str | None = None
        self.loading: asyncio.Task | None = None
        self.tokens_per_second: float | None = None
        self._running = 0
        self._busy: asyncio.TimerHandle | None = None  # pending "busy", or None once it was sent
        self._busy_sent = False
        self._status_at = float("-inf")
        self._state = ""  # the last status sent
        self._shown_failures: set[str] = set()
        self.keys = ApiKeys.from_environment()  # API keys of remote endpoints, by origin
        self.settings: Settings | None = None  # of the last load

    # -- loading ---------------------------------------------------------------------------
    def start_loading(self, settings: Settings) -> asyncio.Task:
        """Load (or reload) the model; loads run one after another, the last one wins."""
        self.settings = settings
        self.loading = asyncio.ensure_future(self._load(settings, self.loading))
        return self.loading

    def set_api_key(self, origin: str, key: str | None) -> None:
        """The editor's API key for an endpoint origin; reconnects when it is the current endpoint's."""
        self.keys.set(origin, key)
        settings = self.settings
        if settings is not None and settings.backend == "openai" and settings.endpoint:
            if origin_of(settings.endpoint) == origin_of(origin):
                log.info("API key %s for %s: reconnecting", "set" if key else "cleared", origin_of(origin))
                self.start_loading(settings)

    async def _load(self, settings: Settings, previous: asyncio.Task | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        old, self.current, self.error, self._shown_failures = self.current, None, None, set()
        if isinstance(old, AsyncStreaming):
            await old.aclose()
        remote = settings.backend == "openai"
        what = settings.endpoint if remote else settings.model or "(no model folder)"
        self.status("loading", message=f"loading {what}")
        progress = await self.client.begin_progress(
            "Magicoder", f"{'connecting to' if remote else 'loading the model'} {what}"
        )
        started = time.perf_counter()
        problem = None
        try:
            engine = await asyncio.to_thread(self.factory, settings)
            if isinstance(engine, AsyncStreaming):
                connection = await engine.connect(self.keys)
                for warning in connection.warnings:
                    log.warning("%s", warning)
                    self.client.show_message(types.MessageType.Warning, warning)
                problem = connection.error
            self.current = engine
        except Exception as exc:  # EngineError, onnxruntime's errors, a broken folder: the server keeps serving
            log.debug("load failed", exc_info=True)
            self.error = f"cannot load the model: {exc}" if settings.model and not remote else str(exc)
        progress.end(
            self.error or problem or f"{'connected' if remote else 'loaded'} in {time.perf_counter() - started:.1f} s"
        )
        if self.error:
            log.error("%s", self.error)
            self.status("error", message=self.error)
            self.client.show_message(types.MessageType.Error, f"Magicoder: {self.error}")
        elif problem:  # the remote server cannot be used now: said once, tried again by every request
            self.fail(problem)
        else:
            log.info("model %s ready on %s", engine.name, engine.provider)
            self.status("ready")
            self._warn_unchecked(engine)

    def _warn_unchecked(self, engine: InferenceEngine) -> None:
        """Once per load: the loaded folder was not checked against its source model, or failed its check."""
        text = gate_warning(engine.gate)
        if text:
            log.warning("%s", text)
            self.client.show_message(types.MessageType.Warning, text)

    @property
    def is_loading(self) -> bool:
        return self.loading is not None and not self.loading.done()

    @property
    def unavailable(self) -> str | None:
        """Why no request can be served now (None while loading or when loaded)."""
        if self.loading is None:
            return "the model is not loaded"
        if self.loading.done() and self.current is None:
            return self.error or "the model is not loaded"
        return None

    async def engine(self) -> InferenceEngine:
        """The loaded engine (waiting for a load in progress), or RequestFailed saying why there is none."""
        while self.loading is not None and not self.loading.done():  # is_loading, spelled out for the type checker
            await asyncio.shield(self.loading)
        if self.current is None:
            raise RequestFailed(f"Magicoder is unavailable: {self.unavailable}")
        return self.current

    # -- status ----------------------------------------------------------------------------
    def status(self, state: str, **extra: object) -> None:
        engine = self.current
        payload: dict[str, object] = {
            "state": state,
            "model": engine.name if engine else None,
            "provider": engine.provider if engine else None,
        }
        endpoint = getattr(engine, "endpoint", None)
        if endpoint is not None:
            payload["endpoint"] = endpoint.base
        if self.tokens_per_second is not None:
            payload["tokensPerSecond"] = round(self.tokens_per_second, 1)
        self._status_at, self._state = time.monotonic(), state
        self.client.notify(STATUS_NOTIFICATION, {**payload, **{k: v for k, v in extra.items() if v is not None}})

    def fail(self, message: str) -> RequestFailed:
        """A generation failed: the error for the request, and (once per distinct failure) a message for the user."""
        log.error("%s", message)
        self.status("error", message=message)
        if message not in self._shown_failures:
            self._shown_failures.add(message)
            self.client.show_message(types.MessageType.Error, f"Magicoder: {message}")
        return RequestFailed(message)

    # -- generation ------------------------------------------------------------------------
    async def generate(
        self,
        engine: InferenceEngine,
        prompt: str | Callable[[], str],
        max_new_tokens: int,
        stops: tuple[str, ...],
        cancel: CancelToken,
        on_text: OnText | None = None,
        sampling: Sampling = GREEDY,
        patient: bool = False,
    ) -> GenerationResult:
        """Generate; a cancelled request (or token) stops it within one decode step (local) or closes the
        server's stream at once (remote).

        The local engine runs in a worker thread; ``prompt`` may be a function that builds it: it then runs
        in that thread too (one thread hop). A remote engine streams on the event loop (no thread per request).
        ``on_text`` gets the answer so far on the event loop, at most every PROGRESS_INTERVAL_S. ``patient``:
        a busy server's Retry-After is waited for once (Ask), never for inline completions.
        """
        loop = asyncio.get_running_loop()
        result = GenerationResult()
        progress = _Progress(on_text, result)

        def run() -> GenerationResult:
            prompt_text = prompt() if callable(prompt) else prompt
            for piece in engine.stream(
                prompt_text, max_new_tokens, stops, cancel=cancel, result=result, sampling=sampling
            ):
                progress.add(piece, lambda *args: loop.call_soon_threadsafe(*args))
            return result

        async def consume(prompt_text: str) -> None:
            assert isinstance(engine, AsyncStreaming)
            pieces = engine.astream(
                prompt_text, max_new_tokens, stops, cancel=cancel, result=result, sampling=sampling, patient=patient
            )
            async for piece in pieces:
                progress.add(piece, lambda callback, *args: callback(*args))

        async def run_async() -> GenerationResult:
            prompt_text = await asyncio.to_thread(prompt) if callable(prompt) else prompt
            task = asyncio.ensure_future(consume(prompt_text))
            # The stream is stopped by cancelling its task once, through the token: a second cancel while the
            # HTTP response is closing would leave the connection open (and the server generating).
            cancel.on_cancel(partial(loop.call_soon_threadsafe, task.cancel))
            try:
                await asyncio.shield(task)  # the request's own cancellation reaches the task only through the token
            except asyncio.CancelledError:
                if not task.cancelled():  # the request was cancelled: stop its stream, and answer as cancelled
                    cancel.cancel()
                    raise
                result.finish_reason = FINISH_CANCELLED
            return result

        self._running += 1
        if self._running == 1:
            self._busy = loop.call_later(BUSY_AFTER_S, self._announce_busy)
        failed = False
        try:
            return await (run_async() if isinstance(engine, AsyncStreaming) else asyncio.to_thread(run))
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        except Exception as exc:  # EngineError, or onnxruntime's own errors: the server keeps serving
            failed = True
            log.debug("generation failed", exc_info=True)
            raise self.fail(str(exc) if isinstance(exc, EngineError) else f"the engine failed: {exc}") from exc
        finally:
            self._running -= 1
            if result.decode_tokens_per_s > 0:
                self.tokens_per_second = result.decode_tokens_per_s
            if self._running == 0:
                self._end_busy(failed)

    def _announce_busy(self) -> None:
        self._busy, self._busy_sent = None, True
        self.status("busy")

    def _end_busy(self, failed: bool) -> None:
        """All generations ended: "ready" (after a "busy", or with a tok/s not shown lately)."""
        if self._busy is not None:
            self._busy.cancel()
            self._busy = None
        if failed:
            self._busy_sent = False  # fail() has sent "error"
        elif self._busy_sent or self._state == "error" or time.monotonic() - self._status_at >= STATUS_REFRESH_S:
            self._busy_sent = False
            self.status("ready")
