"""Ask Magicoder end to end against the fake engine (exact answers), under VS Code's and Neovim's capabilities.

The fake engine answers an instruction primed with a fence by "# fake: <request>", the
instruction's code, the closing fence and a sentence; Explain gets "Fake explanation: <request>".
"""

from __future__ import annotations

import pytest
from lsprotocol import types

from lsp_server.fake_engine import SILENT_REQUEST
from lsp_server.tasks import docstring_request, explain_request, unit_tests_request
from tests.helpers.clients import CLIENTS
from tests.helpers.edits import (
    AnyTextEdit,
    document_changes,
    edits_of,
    plain_changes,
    single_edit,
    text_document_edit,
)
from tests.helpers.lsp_session import RecordingClient, code_actions, execute, fake_server, open_doc, run_action
from tests.helpers.positions import span
from tests.helpers.samples import GEOMETRY, GEOMETRY_LINES

SOURCE, LINES = GEOMETRY, GEOMETRY_LINES
URI = "file:///work/geometry.py"


client = fake_server(clients=CLIENTS)
previewing = fake_server(options={"previewEdits": True}, clients=CLIENTS)


def vscode(client: RecordingClient) -> bool:
    return client.client_name == "visual-studio-code"


def only_edit(client: RecordingClient, uri: str = URI) -> AnyTextEdit:
    return single_edit([params.edit for params in client.applied_edits], uri)


async def test_comment_action_replaces_the_code_below_the_comment(client: RecordingClient):
    open_doc(client, URI, SOURCE, version=3)
    actions = await code_actions(client, URI, span(3, 0, 5, 26))
    assert [a.title for a in actions] == [
        "Ask Magicoder: add type hints",
        "Ask Magicoder: explain this code",
        "Ask Magicoder: add docstring",
        "Ask Magicoder: write tests",
    ]
    assert actions[0].kind == types.CodeActionKind.RefactorRewrite
    outcome = await run_action(client, actions[0])
    assert outcome["applied"] is True and outcome["task"] == "ask"
    edit = only_edit(client)
    assert edit.range == span(4, 0, 5, len(LINES[5]))
    assert edit.new_text == "# fake: add type hints\ndef area(r):\n    return math.pi * r * r"
    (params,) = client.applied_edits
    if vscode(client):
        (change,) = document_changes(params.edit)
        assert text_document_edit(change).text_document.version == 3
    else:
        assert list(plain_changes(params.edit)) == [URI]


async def test_free_text_instruction_is_reindented_to_the_selection(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    argument = {
        "uri": URI,
        "version": 1,
        "range": {"start": {"line": 9, "character": 0}, "end": {"line": 12, "character": 0}},
        "instruction": "rename k to factor",
    }
    outcome = await execute(client, "magicoder.ask", [argument])
    assert outcome["applied"] is True
    edit = only_edit(client)
    assert edit.range == span(9, 0, 11, len(LINES[11]))
    assert edit.new_text == (
        "    # fake: rename k to factor\n    def scale(self, k):\n        self.k = k\n        return self"
    )


async def test_diagnostic_fix_puts_the_message_in_the_instruction(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    problem = types.Diagnostic(span(5, 11, 5, 15), "undefined name 'math'", source="pyflakes")
    actions = await code_actions(client, URI, span(5, 4, 5, 4), [problem])
    (fix,) = actions  # an empty selection: no explain / docstring / tests
    assert fix.title == "Ask Magicoder: fix undefined name 'math'"
    assert fix.kind == types.CodeActionKind.QuickFix and fix.diagnostics[0].message == problem.message
    assert not await code_actions(client, URI, span(5, 4, 5, 4), [problem], only=["refactor"])
    assert len(await code_actions(client, URI, span(5, 4, 5, 4), [problem], only=["quickfix"])) == 1
    await run_action(client, fix)
    edit = only_edit(client)
    assert edit.range == span(5, 0, 5, len(LINES[5]))
    request = "Fix the following code. pyflakes reports on line 1: undefined name 'math'"
    assert edit.new_text == f"    # fake: {request}\n    return math.pi * r * r"


async def test_explain_answers_with_text_not_an_edit(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    actions = await code_actions(client, URI, span(4, 0, 6, 0), only=["refactor.magicoder.explain"])
    assert [a.title for a in actions] == ["Ask Magicoder: explain this code"]
    rewrites = await code_actions(client, URI, span(3, 0, 6, 0), only=["refactor.rewrite"])
    assert [a.title for a in rewrites] == ["Ask Magicoder: add type hints", "Ask Magicoder: add docstring"]
    outcome = await run_action(client, actions[0])
    expected = f"Fake explanation: {explain_request()}"
    assert outcome["explanation"] == expected and outcome["applied"] is False
    assert client.applied_edits == []
    assert [m.message for m in client.messages] == [f"Magicoder: {expected}"]


async def test_add_docstring_rewrites_the_selection(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    (action,) = [a for a in await code_actions(client, URI, span(4, 0, 6, 0)) if a.title.endswith("docstring")]
    await run_action(client, action)
    edit = only_edit(client)
    assert edit.range == span(4, 0, 5, len(LINES[5]))
    assert edit.new_text == f"# fake: {docstring_request('python')}\ndef area(r):\n    return math.pi * r * r"


async def test_write_tests_creates_the_test_file(client: RecordingClient, tmp_path):
    source_uri = (tmp_path / "geometry.py").as_uri()
    target = tmp_path / "test_geometry.py"
    open_doc(client, source_uri, SOURCE)
    (action,) = [a for a in await code_actions(client, source_uri, span(4, 0, 6, 0)) if a.title.endswith("tests")]
    outcome = await run_action(client, action)
    assert outcome["applied"] is True and outcome["file"] == target.as_uri()
    (params,) = client.applied_edits
    code = f"# fake: {unit_tests_request('python', 'geometry')}\ndef area(r):\n    return math.pi * r * r\n"
    if vscode(client):  # a CreateFile operation, then the versionless edit that fills the file
        create, fill = document_changes(params.edit)
        assert isinstance(create, types.CreateFile) and create.uri == target.as_uri()
        assert create.options is not None and create.options.ignore_if_exists
        assert text_document_edit(fill).text_document.version is None
        assert not target.exists()  # the editor creates it
    else:  # no resource operations: the server created the empty file, the editor fills it
        assert target.read_text() == ""
    (edit,) = edits_of(params.edit)[target.as_uri()]
    assert edit.range == span(0, 0, 0, 0) and edit.new_text == code


async def test_write_tests_appends_to_an_existing_test_file(client: RecordingClient, tmp_path):
    (tmp_path / "tests").mkdir()
    target = tmp_path / "tests" / "test_geometry.py"
    target.write_text("import geometry")
    source_uri = (tmp_path / "geometry.py").as_uri()
    open_doc(client, source_uri, SOURCE)
    (action,) = [a for a in await code_actions(client, source_uri, span(4, 0, 6, 0)) if a.title.endswith("tests")]
    await run_action(client, action)
    (params,) = client.applied_edits
    (edit,) = edits_of(params.edit)[target.as_uri()]
    assert edit.range == span(0, 15, 0, 15) and edit.new_text.startswith("\n\n# fake: Write unit tests with pytest")
    assert target.read_text() == "import geometry"  # the editor writes, not the server


async def test_preview_setting_marks_edits_as_needing_confirmation(previewing: RecordingClient):
    open_doc(previewing, URI, SOURCE)
    actions = await code_actions(previewing, URI, span(3, 0, 5, 26))
    await run_action(previewing, actions[0])
    (params,) = previewing.applied_edits
    if vscode(previewing):
        assert params.edit.change_annotations is not None
        annotation = params.edit.change_annotations["magicoder"]
        assert annotation.needs_confirmation is True and annotation.label == "Ask Magicoder: add type hints"
        (change,) = document_changes(params.edit)
        (edit,) = text_document_edit(change).edits
        assert isinstance(edit, types.AnnotatedTextEdit) and edit.annotation_id == "magicoder"
    else:  # Neovim has no change annotations: a plain edit
        assert params.edit.change_annotations is None


async def test_edit_refused_by_the_editor_is_reported(client: RecordingClient):
    client.apply_result = types.ApplyWorkspaceEditResult(applied=False, failure_reason="read-only file")
    open_doc(client, URI, SOURCE)
    actions = await code_actions(client, URI, span(3, 0, 5, 26))
    assert await run_action(client, actions[0]) == {
        "task": "ask",
        "tokens": pytest.approx(1, abs=100),
        "ttftMs": pytest.approx(0, abs=1000),
        "applied": False,
        "reason": "read-only file",
    }


async def test_no_instruction_no_action(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    assert not await code_actions(client, URI, span(0, 0, 0, 0))  # the cursor, no comment above
    assert not await code_actions(client, URI, span(1, 0, 2, 0))  # blank lines only
    (ask, *_) = await code_actions(client, URI, span(4, 0, 4, 3))
    assert ask.title == "Ask Magicoder: add type hints"  # the comment directly above the selection


async def test_an_answer_without_code_changes_nothing(client: RecordingClient):
    open_doc(client, URI, SOURCE)
    argument = {
        "uri": URI,
        "version": 1,
        "instruction": SILENT_REQUEST,
        "range": {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 26}},
    }
    outcome = await execute(client, "magicoder.ask", [argument])
    assert outcome["applied"] is False and "no code" in outcome["reason"]
    assert client.applied_edits == [] and "no code" in client.messages[-1].message
