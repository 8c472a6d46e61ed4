"""textDocument/codeAction in process: the Ask Magicoder actions offered for a selection, against a recording
host (no server, no model: offering an action generates nothing)."""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_server.errors import InvalidParams
from lsp_server.handlers.actions import ASK_COMMAND, MAX_FIX_ACTIONS, code_actions
from lsp_server.handlers.ask import parse_argument
from lsp_server.text import units
from tests.helpers.clients import CLIENTS, NEOVIM
from tests.helpers.positions import span
from tests.helpers.recording_host import RecordingHost, fake, make_host, start_host
from tests.helpers.samples import GEOMETRY, GEOMETRY_LINES

URI = "file:///work/geometry.py"
ALL_TITLES = [
    "Ask Magicoder: add type hints",
    "Ask Magicoder: explain this code",
    "Ask Magicoder: add docstring",
    "Ask Magicoder: write tests",
]


def ask_for(
    host: RecordingHost,
    selection: types.Range,
    diagnostics: list[types.Diagnostic] | None = None,
    only: list[str] | None = None,
    uri: str = URI,
) -> list[types.CodeAction]:
    context = types.CodeActionContext(diagnostics=diagnostics or [], only=only)
    return code_actions(host, types.CodeActionParams(types.TextDocumentIdentifier(uri), selection, context))


def argument(action: types.CodeAction) -> dict:
    assert action.command is not None and action.command.command == ASK_COMMAND
    (arg,) = action.command.arguments or []
    assert isinstance(arg, dict)
    return arg


def diagnostic(line: int, message: str, source: str | None = "pyflakes") -> types.Diagnostic:
    return types.Diagnostic(span(line, 4, line, 8), message, source=source)


@pytest.fixture
async def host() -> RecordingHost:
    host = await start_host()
    host.open(URI, GEOMETRY, version=7)
    return host


async def test_a_comment_above_the_selection_offers_ask_then_the_selection_tasks(host: RecordingHost):
    actions = ask_for(host, span(3, 0, 5, 26))
    assert [a.title for a in actions] == ALL_TITLES
    assert [a.kind for a in actions] == [
        types.CodeActionKind.RefactorRewrite,
        "refactor.magicoder.explain",
        "refactor.rewrite.magicoder.docstring",
        "refactor.magicoder.tests",
    ]
    assert all(a.disabled is None and a.diagnostics is None for a in actions)
    assert argument(actions[0]) == {
        "uri": URI,
        "version": 7,
        "task": "ask",
        "range": {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 26}},
    }
    assert [argument(a)["task"] for a in actions[1:]] == ["explain", "docstring", "tests"]


async def test_every_argument_offered_is_one_the_ask_command_accepts(host: RecordingHost):
    problem = diagnostic(5, "undefined name 'math'")
    for action in ask_for(host, span(3, 0, 5, 26), [problem]):
        request = parse_argument(action.command.arguments if action.command else None)
        assert (request.uri, request.version, request.task) == (URI, 7, argument(action)["task"])


async def test_no_comment_and_no_selection_offers_nothing(host: RecordingHost):
    assert ask_for(host, span(0, 0, 0, 0)) == []  # the cursor, no comment above
    assert ask_for(host, span(1, 0, 2, 0)) == []  # blank lines only
    assert [a.title for a in ask_for(host, span(4, 0, 4, 3))] == ALL_TITLES  # the comment directly above
    host.open("file:///work/empty.py", "")
    assert ask_for(host, span(0, 0, 0, 0), uri="file:///work/empty.py") == []


async def test_a_selection_without_a_comment_offers_the_selection_tasks(host: RecordingHost):
    actions = ask_for(host, span(9, 0, 12, 0))
    assert [a.title for a in actions] == ALL_TITLES[1:]
    assert argument(actions[0])["range"]["end"] == {"line": 12, "character": 0}  # as selected: the handler trims


async def test_diagnostics_become_fix_actions_with_the_line_within_the_code(host: RecordingHost):
    problems = [diagnostic(5, "undefined name 'math'"), diagnostic(4, "missing\n   return   type", source=None)]
    fixes = ask_for(host, span(4, 0, 4, 0), problems, only=["quickfix"])  # not the Ask of the comment above
    assert [f.title for f in fixes] == ["Ask Magicoder: fix undefined name 'math'", "Ask Magicoder: fix missing"]
    assert all(f.kind == types.CodeActionKind.QuickFix for f in fixes)
    assert [f.diagnostics for f in fixes] == [[problems[0]], [problems[1]]]
    first, second = map(argument, fixes)
    assert first["task"] == "fix" and first["range"] == {  # the selection's lines through the diagnostic's
        "start": {"line": 4, "character": 0},
        "end": {"line": 5, "character": len(GEOMETRY_LINES[5])},
    }
    assert first["instruction"] == "Fix the following code. pyflakes reports on line 2: undefined name 'math'"
    assert second["instruction"] == "Fix the following code. A checker reports on line 1: missing return type"


async def test_fix_actions_are_capped_and_clamped_to_the_document(host: RecordingHost):
    problems = [diagnostic(5, f"problem {i}") for i in range(MAX_FIX_ACTIONS + 2)]
    assert len(ask_for(host, span(5, 0, 5, 0), problems)) == MAX_FIX_ACTIONS
    beyond = types.Diagnostic(span(12, 0, 40, 0), "unexpected end of file")
    (fix,) = ask_for(host, span(12, 0, 12, 0), [beyond])
    assert argument(fix)["range"]["end"] == {"line": 12, "character": 0}  # the last line (empty), not line 40


@pytest.mark.parametrize("client", CLIENTS)
async def test_fix_ranges_end_at_the_line_end_in_the_negotiated_encoding(client: str):
    host = await start_host(client)
    line = "    s = '🐍' + na"
    host.open(URI, f"def f():\n{line}\n")
    (fix,) = ask_for(host, span(1, 4, 1, 4), [diagnostic(1, "undefined name 'na'")])
    encoding = "utf-8" if client == NEOVIM else "utf-16"
    assert argument(fix)["range"]["end"] == {"line": 1, "character": units(line, encoding)}
    assert units(line, "utf-8") != units(line, "utf-16")  # the test tells the encodings apart


@pytest.mark.parametrize(
    ("only", "titles"),
    [
        (["refactor"], ALL_TITLES),
        (["refactor.rewrite"], [ALL_TITLES[0], ALL_TITLES[2]]),
        (["refactor.magicoder.explain"], [ALL_TITLES[1]]),
        (["quickfix"], ["Ask Magicoder: fix undefined name 'math'"]),
        (["source"], []),
        (
            [types.CodeActionKind.QuickFix, "refactor.magicoder.tests"],
            ["Ask Magicoder: fix undefined name 'math'", ALL_TITLES[3]],
        ),
    ],
)
async def test_context_only_keeps_the_kinds_asked_for_and_their_sub_kinds(host: RecordingHost, only, titles):
    problem = diagnostic(5, "undefined name 'math'")
    actions = ask_for(host, span(3, 0, 5, 26), [problem], only=only)
    assert [a.title for a in actions] == titles


@pytest.mark.parametrize(
    "uri", ["file:///work/test_geometry.py", "file:///work/tests/geometry.py", "untitled:Untitled-1"]
)
async def test_write_tests_is_not_offered_for_test_files_nor_unsaved_documents(host: RecordingHost, uri: str):
    host.open(uri, GEOMETRY)
    assert [a.title for a in ask_for(host, span(3, 0, 5, 26), uri=uri)] == ALL_TITLES[:3]


async def test_actions_are_disabled_with_the_reason_while_no_model_can_serve_them():
    idle = make_host()  # before `initialized`: no load started
    idle.open(URI, GEOMETRY)
    assert {a.disabled.reason for a in ask_for(idle, span(3, 0, 5, 26)) if a.disabled} == {"the model is not loaded"}
    assert all(a.disabled for a in ask_for(idle, span(3, 0, 5, 26)))

    def broken(settings):
        raise RuntimeError("model.onnx is damaged")

    failed = make_host(factory=broken, model="/models/bad")
    await failed.model.start_loading(failed.settings)
    failed.open(URI, GEOMETRY)
    reasons = {a.disabled.reason for a in ask_for(failed, span(3, 0, 5, 26)) if a.disabled}
    assert reasons == {"cannot load the model: model.onnx is damaged"}


async def test_actions_are_offered_while_the_model_loads():
    host = make_host(factory=fake(token_ms=0))
    loading = host.model.start_loading(host.settings)
    host.open(URI, GEOMETRY)
    assert host.model.is_loading
    assert [a.disabled for a in ask_for(host, span(3, 0, 5, 26))] == [None] * 4  # Ask waits for the load
    await loading


@pytest.mark.parametrize(
    ("uri", "selection", "error"),
    [
        ("file:///work/nope.py", span(0, 0, 0, 0), "document file:///work/nope.py is not open"),
        (URI, span(0, 0, 13, 0), "line 13 is outside the document (13 lines)"),
        (URI, span(40, 0, 41, 0), "line 40 is outside the document"),
        (URI, span(2, 0, 1, 0), "the range ends (line 1) before it starts (line 2)"),
    ],
)
async def test_unknown_documents_and_bad_ranges_are_invalid_params(host: RecordingHost, uri, selection, error):
    with pytest.raises(InvalidParams) as failure:
        ask_for(host, selection, uri=uri)
    assert failure.value.message.startswith(error) and failure.value.code == -32602
