"""textDocument/codeAction: the Ask Magicoder actions offered for a selection (instant: nothing is generated).

- "Ask Magicoder: <comment>" for an instruction comment above or atop the selection;
- "Ask Magicoder: fix <message>" for each diagnostic the client sends for the range;
- "explain this code", "add docstring" and "write tests" for a non-empty selection.

Each carries the command ``magicoder.ask`` with one argument {uri, version, range, task, instruction?}.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from lsprotocol.converters import get_converter

from ..assist import plan_ask
from ..tasks import ASK, DOCSTRING, EXPLAIN, FIX, TESTS, TITLE, TITLES, fix_request, fix_title
from ..testfiles import is_test_file
from .host import Document, Host, selection_lines

ASK_COMMAND = "magicoder.ask"
MAX_FIX_ACTIONS = 3
KINDS = {
    ASK: types.CodeActionKind.RefactorRewrite,
    FIX: types.CodeActionKind.QuickFix,
    EXPLAIN: "refactor.magicoder.explain",
    DOCSTRING: "refactor.rewrite.magicoder.docstring",
    TESTS: "refactor.magicoder.tests",
}
_converter = get_converter()


def ask_argument(doc: Document, selection: types.Range, task: str, instruction: str | None = None) -> dict:
    argument = {"uri": doc.uri, "version": doc.version, "range": _converter.unstructure(selection), "task": task}
    if instruction:
        argument["instruction"] = instruction
    return argument


def _action(title: str, task: str, argument: dict, diagnostic: types.Diagnostic | None = None) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=KINDS[task],
        diagnostics=[diagnostic] if diagnostic else None,
        command=types.Command(title=title, command=ASK_COMMAND, arguments=[argument]),
    )


def _line_range(doc: Document, first: int, last: int, encoding: str) -> types.Range:
    return types.Range(types.Position(first, 0), types.Position(last, doc.text.line_end_column(last, encoding)))


def _fix_actions(
    host: Host, doc: Document, start: int, end: int, diagnostics: list[types.Diagnostic]
) -> list[types.CodeAction]:
    actions = []
    for diagnostic in diagnostics[:MAX_FIX_ACTIONS]:
        first = min(start, diagnostic.range.start.line)
        last = min(max(end, diagnostic.range.end.line), doc.text.line_count - 1)
        lines = doc.text.lines
        code_start = next((i for i in range(first, last + 1) if lines[i].strip()), first)
        request = fix_request(diagnostic.message, diagnostic.source, max(0, diagnostic.range.start.line - code_start))
        argument = ask_argument(doc, _line_range(doc, first, last, host.encoding), FIX, request)
        actions.append(_action(fix_title(diagnostic.message), FIX, argument, diagnostic))
    return actions


def _selection_actions(doc: Document, selection: types.Range, start: int, end: int) -> list[types.CodeAction]:
    lines = doc.text.lines
    if selection.start == selection.end or not any(lines[i].strip() for i in range(start, end + 1)):
        return []
    tasks = [EXPLAIN, DOCSTRING]
    if doc.path is not None and not is_test_file(doc.path):
        tasks.append(TESTS)
    return [_action(TITLES[task], task, ask_argument(doc, selection, task)) for task in tasks]


def _kind(kind: object) -> str:
    return str(getattr(kind, "value", kind))  # str() of a CodeActionKind member is its name


def _wanted(action: types.CodeAction, only: Sequence[types.CodeActionKind | str] | None) -> bool:
    """context.only: the kinds the client asks for, each with its sub-kinds ("refactor" covers "refactor.rewrite")."""
    kind = _kind(action.kind)
    return not only or any(kind == want or kind.startswith(f"{want}.") for want in map(_kind, only))


def code_actions(host: Host, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = host.document(params.text_document.uri)
    start, end = selection_lines(doc, params.range)
    actions = []
    plan = plan_ask(doc.text.lines, start, end, doc.language_id)
    if plan is not None:
        actions.append(_action(f"{TITLE}: {plan.request}", ASK, ask_argument(doc, params.range, ASK)))
    actions += _fix_actions(host, doc, start, end, list(params.context.diagnostics or []))
    actions += _selection_actions(doc, params.range, start, end)
    actions = [a for a in actions if _wanted(a, params.context.only)]
    reason = host.model.unavailable
    if reason is not None:
        for action in actions:
            action.disabled = types.CodeActionDisabled(reason=reason)
    return actions
