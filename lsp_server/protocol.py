"""The language server: LSP handlers over pygls 2.  The only module that imports pygls."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from . import __version__
from .assist import (
    ASK_STOPS,
    answer_to_code,
    ask_prompt,
    inline_context,
    inline_prompt,
    inline_text,
    plan_ask,
    plan_selection,
)
from .engine import BUILD_HINT, CancelToken, Engine, EngineError, GenerationResult
from .prompts import FimTokens
from .settings import Settings, parse_settings

log = logging.getLogger(__name__)

ASK_COMMAND = "magicoder.ask"
STATUS_NOTIFICATION = "magicoder/status"


class RequestFailed(JsonRpcException):
    """LSP RequestFailed (-32803): a well-formed request the server could not carry out."""

    CODE = -32803


@dataclass
class EngineSlot:
    """The engine, its load in progress, or why there is none."""

    engine: Engine | None = None
    error: str | None = None
    loading: asyncio.Task | None = None


class MagicoderServer(LanguageServer):
    def __init__(self, model_override: str | None = None):
        super().__init__("magicoder-lsp", __version__)
        self.model_override = model_override
        self.settings = Settings()
        self.slot = EngineSlot()
        self.inline_cancel: CancelToken | None = None

    # -- engine ---------------------------------------------------------------------------
    def start_loading(self) -> None:
        self.slot = EngineSlot(loading=asyncio.ensure_future(self._load()))

    async def _load(self) -> None:
        folder = self.settings.model
        self.status("loading")
        if not folder:
            self.slot.error = f"no model folder is configured: {BUILD_HINT}"
        else:
            try:
                self.slot.engine = await asyncio.to_thread(Engine, folder, self.settings.threads)
            except (EngineError, OSError, RuntimeError, ValueError) as exc:
                self.slot.error = f"cannot load the model from {folder}: {exc}"
        if self.slot.error:
            log.error("%s", self.slot.error)
            self.status("error", message=self.slot.error)
            self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"Magicoder: {self.slot.error}"))
        else:
            self.status("ready")

    async def engine(self) -> Engine:
        """The loaded engine, or a RequestFailed error saying why there is none."""
        if self.slot.loading is not None:
            await asyncio.shield(self.slot.loading)
        if self.slot.engine is None:
            raise RequestFailed(f"Magicoder is unavailable: {self.slot.error or 'the model is not loaded'}")
        return self.slot.engine

    def status(self, state: str, **extra: object) -> None:
        engine = self.slot.engine
        payload = {"state": state, "model": engine.name if engine else None, "provider": engine.provider if engine else None}
        self.protocol.notify(STATUS_NOTIFICATION, {**payload, **extra})

    async def generate(
        self, engine: Engine, prompt: str, max_new_tokens: int, stops: tuple[str, ...], cancel: CancelToken
    ) -> GenerationResult:
        """Run a generation off the event loop; a cancelled request stops it within one step."""
        self.status("busy")
        try:
            return await asyncio.to_thread(engine.complete, prompt, max_new_tokens, stops, cancel)
        except asyncio.CancelledError:
            cancel.cancel()
            raise
        except EngineError as exc:
            raise RequestFailed(str(exc)) from exc
        finally:
            self.status("ready")

    def log_request(self, what: str, result: GenerationResult, seconds: float) -> None:
        line = (
            f"{what}: {result.prompt_tokens} prompt tokens, {len(result.token_ids)} new "
            f"({result.finish_reason}), TTFT {result.ttft_s * 1000:.0f} ms, "
            f"{result.decode_tokens_per_s:.1f} tok/s, total {seconds * 1000:.0f} ms"
        )
        log.info("%s", line)
        self.window_log_message(types.LogMessageParams(types.MessageType.Info, line))

    def document(self, uri: str) -> TextDocument:
        """An open document; unknown URIs are an invalid-params error (never read from disk)."""
        doc = self.workspace.text_documents.get(unquote(uri))
        if doc is None:
            raise JsonRpcInvalidParams(f"document {uri} is not open")
        return doc


server = MagicoderServer()


def document_lines(doc: TextDocument) -> list[str]:
    return [line.rstrip("\r\n") for line in doc.lines]


def check_position(lines: list[str], position: types.Position) -> None:
    if position.line < 0 or position.character < 0 or position.line > len(lines):
        raise JsonRpcInvalidParams(f"position {position.line}:{position.character} is outside the document")


def selection_lines(selection: types.Range) -> tuple[int, int]:
    """Whole lines covered by a selection (a selection ending at column 0 excludes that line)."""
    start, end = selection.start.line, selection.end.line
    if end > start and selection.end.character == 0:
        end -= 1
    return start, end


@server.feature(types.INITIALIZE)
def initialize(ls: MagicoderServer, params: types.InitializeParams) -> None:
    ls.settings, problems = parse_settings(params.initialization_options, ls.model_override)
    for problem in problems:
        log.warning("%s", problem)


@server.feature(types.INITIALIZED)
def initialized(ls: MagicoderServer, params: types.InitializedParams) -> None:
    ls.start_loading()


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite], resolve_provider=False),
)
def code_action(ls: MagicoderServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Offer "Ask Magicoder: <comment>" for a selection with an instruction comment (computes nothing)."""
    doc = ls.document(params.text_document.uri)
    lines = document_lines(doc)
    check_position(lines, params.range.start)
    check_position(lines, params.range.end)
    start, end = selection_lines(params.range)
    plan = plan_ask(lines, start, end, doc.language_id or "")
    if plan is None:
        return []
    title = f"Ask Magicoder: {plan.request}"
    argument = {"uri": doc.uri, "version": doc.version, "range": ls.protocol._converter.unstructure(params.range)}
    action = types.CodeAction(
        title=title,
        kind=types.CodeActionKind.RefactorRewrite,
        command=types.Command(title=title, command=ASK_COMMAND, arguments=[argument]),
    )
    if ls.slot.loading is None or (ls.slot.loading.done() and ls.slot.engine is None):
        action.disabled = types.CodeActionDisabled(reason=ls.slot.error or "the model is not loaded")
    return [action]


def _ask_argument(ls: MagicoderServer, args: object) -> tuple[TextDocument, types.Range, str | None]:
    if not isinstance(args, (list, tuple)) or not args or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(f"{ASK_COMMAND} takes one object argument {{uri, version, range[, instruction]}}")
    arg = args[0]
    try:
        selection = ls.protocol._converter.structure(arg["range"], types.Range)
        uri, version = str(arg["uri"]), arg.get("version")
    except Exception as exc:  # KeyError, TypeError or cattrs' own error groups
        raise JsonRpcInvalidParams(f"{ASK_COMMAND}: bad argument: {exc}") from exc
    doc = ls.document(uri)
    if version is not None and version != doc.version:
        raise RequestFailed(f"{uri} changed since the action was offered (version {version}, now {doc.version}): ask again")
    instruction = arg.get("instruction")
    return doc, selection, instruction if isinstance(instruction, str) and instruction.strip() else None


@server.command(ASK_COMMAND)
async def ask(ls: MagicoderServer, *args: object) -> dict:
    """Generate the answer and apply it as a versioned edit replacing the selection's code."""
    started = time.perf_counter()
    doc, selection, instruction = _ask_argument(ls, args)
    lines = document_lines(doc)
    check_position(lines, selection.start)
    check_position(lines, selection.end)
    start, end = selection_lines(selection)
    plan = plan_ask(lines, start, end, doc.language_id or "")
    if plan is None and instruction:
        plan = plan_selection(lines, start, end, instruction)
    if plan is None:
        raise RequestFailed("no instruction comment above or at the top of the selection, and no instruction given")
    engine = await ls.engine()
    version = doc.version
    prompt = ask_prompt(plan, engine.manifest.prompt.template, doc.language_id or "", instruction)
    result = await ls.generate(engine, prompt, ls.settings.max_new_tokens, ASK_STOPS, CancelToken())
    code = answer_to_code(result.text, plan)
    ls.log_request("Ask Magicoder", result, time.perf_counter() - started)
    if doc.version != version:
        message = "the document changed while Magicoder was answering; nothing was changed"
        ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"Magicoder: {message}"))
        return {"applied": False, "reason": message}
    end_char = doc.position_codec.client_num_units(lines[plan.end_line])
    edit = types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=version),
        edits=[types.TextEdit(types.Range(types.Position(plan.start_line, 0), types.Position(plan.end_line, end_char)), code)],
    )
    response = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=types.WorkspaceEdit(document_changes=[edit]), label="Ask Magicoder")
    )
    return {"applied": bool(response and response.applied), "tokens": len(result.token_ids), "ttftMs": result.ttft_s * 1000}


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: MagicoderServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
    """Fill-in-the-middle completion at the cursor; a newer request cancels the older one."""
    started = time.perf_counter()
    doc = ls.document(params.text_document.uri)
    check_position(document_lines(doc), params.position)
    if not ls.settings.inline_enabled:
        return types.InlineCompletionList(items=[])
    engine = await ls.engine()
    ctx = inline_context(doc.source, doc.offset_at_position(params.position))
    fim = FimTokens(engine.manifest.prompt.fim_begin, engine.manifest.prompt.fim_hole, engine.manifest.prompt.fim_end)
    prompt = inline_prompt(ctx, fim, engine.count_tokens, ls.settings.inline_context_tokens)
    if ls.inline_cancel is not None:
        ls.inline_cancel.cancel()
    cancel = ls.inline_cancel = CancelToken()
    stops = () if ctx.multiline else ("\n",)
    result = await ls.generate(engine, prompt, ls.settings.inline_max_new_tokens, stops, cancel)
    ls.log_request("inline completion", result, time.perf_counter() - started)
    text = inline_text(result.text, ctx)
    if not text:
        return types.InlineCompletionList(items=[])
    where = types.Range(params.position, params.position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=text, range=where)])
