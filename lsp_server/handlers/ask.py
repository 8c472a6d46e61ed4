"""workspace/executeCommand ``magicoder.ask``: generate the answer to an Ask Magicoder action and deliver it.

The argument is {uri, version, range, task?, instruction?} (task: ask | fix | explain | docstring | tests).
The answer streams into a cancellable work-done progress; then an edit replaces the selected lines
(ask, fix, docstring), goes to the end of a test file (tests), or is shown as text (explain). Lines the
user's typing meanwhile moved are replaced where they are now; if the user changed them, nothing is
overwritten and the answer is kept for them (delivery.py). A selection too long for
the context budget is refused with a message saying so (never silently truncated); an answer cut
short by maxNewTokens is delivered with a warning, as an edit needing confirmation where the
editor supports change annotations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from lsprotocol.converters import get_converter

from ..assist import ASK_STOPS, AskPlan, answer_to_code, ask_prompt, explain_prompt, plan_ask, plan_selection
from ..engine.api import FINISH_CANCELLED, FINISH_LENGTH, CancelToken, GenerationResult, InferenceEngine
from ..engine.sampling import GREEDY, Sampling
from ..errors import InvalidParams, RequestCancelled, RequestFailed
from ..magicoder import INSTRUCTION_HEADER
from ..model_host import describe
from ..prompts import MAX_CHARS_PER_TOKEN
from ..rebase import follow
from ..tasks import (
    ASK,
    DOCSTRING,
    EXPLAIN,
    FIX,
    TASKS,
    TESTS,
    TITLE,
    docstring_request,
    explain_request,
    one_line,
    unit_tests_request,
)
from ..testfiles import path_for_tests
from ..text import DocumentText
from .actions import ASK_COMMAND
from .delivery import Asked, deliver_rewrite, outcome_of
from .edits import append_position, ensure_file, supports_create, text_edit
from .host import Document, Host, selection_lines

MIN_ANSWER_TOKENS = 16
EXPLAIN_STOPS = ("\n" + INSTRUCTION_HEADER,)
_converter = get_converter()


@dataclass(frozen=True)
class AskRequest:
    uri: str
    version: int | None
    selection: types.Range
    task: str
    instruction: str | None


def parse_argument(args: object) -> AskRequest:
    usage = f"{ASK_COMMAND} takes one object argument {{uri, version, range, task?, instruction?}}"
    if not isinstance(args, (list, tuple)) or len(args) != 1 or not isinstance(args[0], dict):
        raise InvalidParams(usage)
    arg = args[0]
    try:
        selection = _converter.structure(arg["range"], types.Range)
        uri, version, task = arg["uri"], arg.get("version"), arg.get("task", ASK)
        instruction = arg.get("instruction")
        if not isinstance(uri, str) or task not in TASKS or (version is not None and type(version) is not int):
            raise ValueError("uri must be a string, version an integer or null, task one of " + ", ".join(TASKS))
        if instruction is not None and not isinstance(instruction, str):
            raise ValueError("instruction must be a string")
    except Exception as exc:  # KeyError, TypeError, ValueError or cattrs' own error groups
        raise InvalidParams(f"{ASK_COMMAND}: bad argument ({exc}); {usage}") from exc
    return AskRequest(
        uri, version, selection, task, instruction.strip() if instruction and instruction.strip() else None
    )


def _plan(doc: Document, start: int, end: int, request: AskRequest) -> AskPlan:
    lines, language = doc.text.lines, doc.language_id
    plan: AskPlan | None = None
    if request.task == ASK:
        plan = plan_ask(lines, start, end, language)
        if plan is not None and request.instruction:
            plan = AskPlan(request.instruction, plan.start_line, plan.end_line, plan.code, plan.indent)
        elif plan is None and request.instruction:
            plan = plan_selection(lines, start, end, request.instruction)
        if plan is None:
            raise RequestFailed("no instruction comment above or at the top of the selection, and no instruction given")
    elif request.task == FIX:
        if not request.instruction:
            raise InvalidParams(f"{ASK_COMMAND}: task 'fix' needs the instruction (the problem to fix)")
        plan = plan_selection(lines, start, end, request.instruction)
    else:
        if request.task == TESTS and doc.path is None:  # refused before generating, not after
            raise RequestFailed("writing tests needs the document saved as a file")
        module = doc.path.stem if doc.path else None
        text = {
            EXPLAIN: explain_request(),
            DOCSTRING: docstring_request(language),
            TESTS: unit_tests_request(language, module),
        }
        plan = plan_selection(lines, start, end, text[request.task])
    if plan is None or not plan.code.strip():
        raise RequestFailed("the selection holds no code")
    return plan


def _selection_now(host: Host, doc: Document, request: AskRequest) -> types.Range:
    """The selection as it is in the document now: an action offered on an older version is followed through
    the changes made since (typing above it moves it); RequestFailed when they touched it or are unknown."""
    if request.version is None or request.version == doc.version:
        return request.selection
    changes = host.changes_since(doc.uri, request.version)
    start, end = request.selection.start, request.selection.end
    followed = (
        None
        if changes is None
        else follow((start.line, start.character), (end.line, end.character), changes, host.encoding)
    )
    if followed is None or not followed[2]:
        raise RequestFailed(
            f"{doc.uri} changed since the action was offered (version {request.version}, now {doc.version}): ask again"
        )
    (start_line, start_column), (end_line, end_column), _ = followed
    return types.Range(types.Position(start_line, start_column), types.Position(end_line, end_column))


def answer_budget(host: Host, engine: InferenceEngine, prompt: str) -> int:
    """How many tokens the answer may take; RequestFailed when the selection leaves no room for one."""
    context = engine.context_length
    budget = min(host.settings.context_budget, context)
    advice = (
        f"the context budget is {budget} tokens (setting contextBudget; the model's context is {context}): "
        "select less code"
    )
    if len(prompt) > budget * MAX_CHARS_PER_TOKEN:
        raise RequestFailed(f"the selection is too long for Magicoder ({len(prompt)} characters); {advice}")
    tokens = engine.count_tokens(prompt)
    if budget - tokens < MIN_ANSWER_TOKENS:
        raise RequestFailed(f"the selection is too long for Magicoder (a {tokens}-token prompt); {advice}")
    return min(host.settings.max_new_tokens, budget - tokens)


def _tail(text: str, limit: int = 80) -> str:
    line = next((part for part in reversed(text.splitlines()) if part.strip()), "")
    return line.strip()[-limit:]


async def _generate(
    host: Host, engine: InferenceEngine, plan: AskPlan, prompt: str, stops: tuple[str, ...]
) -> GenerationResult:
    max_new = answer_budget(host, engine, prompt)
    cancel = CancelToken()
    host.track_request(cancel)
    progress = await host.begin_progress(f"{TITLE}: {one_line(plan.request, 60)}", "thinking…", cancel)
    temperature = host.settings.temperature
    sampling = Sampling(temperature=temperature) if temperature > 0 else GREEDY
    outcome = "failed"
    try:
        result = await host.model.generate(
            engine,
            prompt,
            max_new,
            stops,
            cancel,
            on_text=lambda text, tokens: progress.report(_tail(text), min(99, tokens * 100 // max(1, max_new))),
            sampling=sampling,
            patient=True,
        )
        outcome = "cancelled" if result.finish_reason == FINISH_CANCELLED else "done"
    finally:
        progress.end(outcome)
    if result.finish_reason == FINISH_CANCELLED:
        raise RequestCancelled(f"{TITLE} was cancelled")
    return result


async def execute_ask(host: Host, args: object) -> dict:
    started = time.perf_counter()
    request = parse_argument(args)
    doc = host.document(request.uri)
    selection = _selection_now(host, doc, request)
    plan = _plan(doc, *selection_lines(doc, selection), request)
    engine = await host.model.engine()
    template = engine.prompt_format.template
    if request.task == EXPLAIN:
        result = await _generate(host, engine, plan, explain_prompt(plan, template, doc.language_id), EXPLAIN_STOPS)
    else:
        result = await _generate(host, engine, plan, ask_prompt(plan, template, doc.language_id), ASK_STOPS)
    host.log_message(
        types.MessageType.Info, describe(f"{TITLE} ({request.task})", result, time.perf_counter() - started)
    )
    summary = {"task": request.task, "tokens": len(result.token_ids), "ttftMs": round(result.ttft_s * 1000, 1)}
    if request.task == EXPLAIN:
        text = result.text.strip() or "(no explanation)"
        host.show_message(types.MessageType.Info, f"Magicoder: {text}")
        return {**summary, "applied": False, "explanation": text}
    code = answer_to_code(result.text, plan)
    if not code.strip():
        return {**summary, **_refuse(host, "the answer held no code; nothing was changed")}
    # An answer cut short by maxNewTokens may lack code: the edit then needs confirmation where the
    # editor can ask for it, and the user is warned either way (the edit can be undone).
    truncated = result.finish_reason == FINISH_LENGTH
    if truncated:
        summary["truncated"] = True
        host.show_message(
            types.MessageType.Warning,
            f"Magicoder: the answer was cut at {len(result.token_ids)} tokens (setting maxNewTokens): review the edit",
        )
    preview = host.settings.preview_edits or truncated
    if request.task == TESTS:
        return {**summary, **await _deliver_tests(host, doc, plan, code, preview)}
    asked = Asked(doc, plan.start_line, plan.end_line, f"{TITLE}: {one_line(plan.request, 60)}")
    return {**summary, **await deliver_rewrite(host, asked, code, preview)}


def _refuse(host: Host, reason: str) -> dict:
    host.show_message(types.MessageType.Warning, f"Magicoder: {reason}")
    return {"applied": False, "reason": reason}


async def _deliver_tests(host: Host, doc: Document, plan: AskPlan, code: str, preview: bool) -> dict:
    assert doc.path is not None  # _plan refused an unsaved document
    target = Path(path_for_tests(doc.path, doc.language_id, lambda p: Path(p).exists()))
    uri, caps, create = target.as_uri(), host.client_capabilities, False
    try:
        open_doc: Document | None = host.document(uri)
    except InvalidParams:
        open_doc = None
    if open_doc is not None:
        version, (at, separator) = open_doc.version, append_position(open_doc.text, host.encoding)
    elif target.is_file():
        text = DocumentText(target.read_text(encoding="utf-8", errors="replace"))
        version, (at, separator) = None, append_position(text, host.encoding)
    else:
        version, at, separator = None, types.Position(0, 0), ""
        create = supports_create(caps)
        if not create:
            ensure_file(target)
    label = f"{TITLE}: tests for {doc.path.name}"
    edit = text_edit(caps, uri, version, types.Range(at, at), separator + code + "\n", label, preview, create)
    outcome = outcome_of(await host.apply_edit(edit, label))
    if outcome["applied"]:
        await host.show_document(uri)
    return {**outcome, "file": uri}
