"""workspace/executeCommand magicoder.ask in process: what each task answers and the edit's shape per client,
against a recording host and the FakeEngine (its answers are exact: "# fake: <request>", then the code).

Refusals, stale documents, failures and cancellation: test_handlers_ask_refusals.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from lsp_server.engine.sampling import Sampling
from lsp_server.handlers.actions import ask_argument
from lsp_server.handlers.ask import execute_ask
from lsp_server.tasks import DOCSTRING, EXPLAIN, FIX, TESTS, docstring_request, explain_request, unit_tests_request
from tests.helpers.clients import CLIENTS, NEOVIM, VSCODE
from tests.helpers.edits import AnyTextEdit, single_edit
from tests.helpers.positions import span
from tests.helpers.recording_host import RecordingHost, fake, start_host
from tests.helpers.samples import GEOMETRY, GEOMETRY_LINES

URI = "file:///work/geometry.py"
COMMENTED = span(3, 0, 5, 26)  # "# add type hints" and the function below it
AREA = "def area(r):\n    return math.pi * r * r"
AREA_RANGE = span(4, 0, 5, len(GEOMETRY_LINES[5]))


async def ask(
    host: RecordingHost, selection: types.Range, task: str = "ask", instruction: str | None = None, uri: str = URI
) -> dict:
    return await execute_ask(host, [ask_argument(host.document(uri), selection, task, instruction)])


def only_edit(host: RecordingHost, uri: str = URI) -> AnyTextEdit:
    return single_edit([applied.edit for applied in host.applied], uri)


async def opened(client: str = VSCODE, **settings: Any) -> RecordingHost:
    host = await start_host(client, **settings)
    host.open(URI, GEOMETRY, version=3)
    return host


@pytest.mark.parametrize("client", CLIENTS)
async def test_the_comment_s_request_replaces_the_code_below_it(client: str):
    host = await opened(client)
    outcome = await ask(host, COMMENTED)
    assert outcome["applied"] is True and outcome["task"] == "ask" and outcome["tokens"] > 0
    edit = only_edit(host)
    assert edit.range == AREA_RANGE and edit.new_text == f"# fake: add type hints\n{AREA}"
    (applied,) = host.applied
    assert applied.label == "Ask Magicoder: add type hints"
    if client == VSCODE:  # a versioned edit: the editor refuses it if the document moved on
        (change,) = applied.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 3
    else:  # no documentChanges: the plain map (the server checked the version itself)
        assert applied.edit.document_changes is None and list(applied.edit.changes or {}) == [URI]
    assert host.messages == [] and host.shown_documents == []


async def test_the_answer_streams_into_a_cancellable_progress_and_a_log_line():
    host = await start_host(factory=fake(token_ms=25))
    host.open(URI, GEOMETRY)
    await ask(host, COMMENTED)
    (progress,) = host.progress
    assert (progress.title, progress.message) == ("Ask Magicoder: add type hints", "thinking…")
    assert progress.cancel is not None and progress.cancel is host.tracked[-1]  # both cancels reach the decode
    assert progress.ended and progress.end_message == "done"
    answer = f"# fake: add type hints\n{AREA}"
    assert progress.reports and all(message and message in answer for message, _ in progress.reports)
    percentages = [p for _, p in progress.reports if p is not None]
    assert len(percentages) == len(progress.reports) and percentages == sorted(percentages)
    assert all(0 <= p <= 99 for p in percentages)
    (line,) = host.log_lines("Ask Magicoder (ask): ")
    assert "prompt tokens" in line and "new (stop)" in line


async def test_a_free_text_instruction_is_reindented_to_the_selection():
    host = await opened()
    outcome = await ask(host, span(9, 0, 12, 0), instruction="  rename k to factor  ")
    assert outcome["applied"] is True
    edit = only_edit(host)
    assert edit.range == span(9, 0, 11, len(GEOMETRY_LINES[11]))
    assert (
        edit.new_text
        == "    # fake: rename k to factor\n    def scale(self, k):\n        self.k = k\n        return self"
    )


async def test_an_instruction_overrides_the_comment_but_keeps_its_code_range():
    host = await opened()
    await ask(host, COMMENTED, instruction="use a float annotation")
    edit = only_edit(host)
    assert edit.range == AREA_RANGE and edit.new_text == f"# fake: use a float annotation\n{AREA}"


async def test_a_fix_rewrites_the_lines_with_the_problem_in_the_request():
    host = await opened()
    request = "Fix the following code. pyflakes reports on line 1: undefined name 'math'"
    await ask(host, span(5, 0, 5, 26), FIX, request)
    edit = only_edit(host)
    assert edit.range == span(5, 0, 5, 26) and edit.new_text == f"    # fake: {request}\n    return math.pi * r * r"


async def test_explain_shows_text_and_edits_nothing():
    host = await opened()
    outcome = await ask(host, span(4, 0, 6, 0), EXPLAIN)
    expected = f"Fake explanation: {explain_request()}"
    assert outcome["explanation"] == expected and outcome["applied"] is False
    assert host.applied == [] and host.messages == [(types.MessageType.Info, f"Magicoder: {expected}")]


async def test_add_docstring_rewrites_the_selection():
    host = await opened()
    await ask(host, span(4, 0, 6, 0), DOCSTRING)
    edit = only_edit(host)
    assert edit.range == AREA_RANGE and edit.new_text == f"# fake: {docstring_request('python')}\n{AREA}"


def expected_tests(module: str = "geometry") -> str:
    return f"# fake: {unit_tests_request('python', module)}\n{AREA}\n"


@pytest.mark.parametrize("client", CLIENTS)
async def test_write_tests_creates_the_test_file(client: str, tmp_path: Path):
    host = await start_host(client)
    source, target = (tmp_path / "geometry.py").as_uri(), tmp_path / "test_geometry.py"
    host.open(source, GEOMETRY)
    outcome = await ask(host, span(4, 0, 6, 0), TESTS, uri=source)
    assert outcome["applied"] is True and outcome["file"] == target.as_uri()
    (applied,) = host.applied
    if client == VSCODE:  # a CreateFile operation, then the versionless edit that fills the file
        create, fill = applied.edit.document_changes or []
        assert isinstance(create, types.CreateFile) and create.uri == target.as_uri()
        assert create.options is not None and create.options.ignore_if_exists
        assert isinstance(fill, types.TextDocumentEdit) and fill.text_document.version is None
        assert not target.exists()  # the editor creates it
    else:  # no resource operations in a plain edit: the server created the empty file, the editor fills it
        assert target.read_text() == ""
    edit = only_edit(host, target.as_uri())
    assert edit.range == span(0, 0, 0, 0) and edit.new_text == expected_tests()
    assert host.shown_documents == [target.as_uri()] and applied.label == "Ask Magicoder: tests for geometry.py"


async def test_write_tests_appends_to_the_test_file_on_disk(tmp_path: Path):
    (tmp_path / "tests").mkdir()
    target = tmp_path / "tests" / "test_geometry.py"
    target.write_text("import geometry")
    host = await start_host()
    source = (tmp_path / "geometry.py").as_uri()
    host.open(source, GEOMETRY)
    await ask(host, span(4, 0, 6, 0), TESTS, uri=source)
    (applied,) = host.applied
    (fill,) = applied.edit.document_changes or []
    assert isinstance(fill, types.TextDocumentEdit) and fill.text_document.version is None
    edit = only_edit(host, target.as_uri())
    assert edit.range == span(0, 15, 0, 15) and edit.new_text == "\n\n" + expected_tests()
    assert target.read_text() == "import geometry"  # the editor writes, not the server


async def test_write_tests_appends_to_the_test_file_as_the_editor_has_it(tmp_path: Path):
    """An open test file: its unsaved text decides where the tests go, its version guards the edit."""
    target = tmp_path / "test_geometry.py"
    target.write_text("import geometry\n")
    host = await start_host()
    source = (tmp_path / "geometry.py").as_uri()
    host.open(source, GEOMETRY)
    host.open(target.as_uri(), "import geometry\n\n\ndef test_unsaved():\n    pass\n", version=9)
    await ask(host, span(4, 0, 6, 0), TESTS, uri=source)
    (applied,) = host.applied
    (fill,) = applied.edit.document_changes or []
    assert isinstance(fill, types.TextDocumentEdit) and fill.text_document.version == 9
    edit = only_edit(host, target.as_uri())
    assert edit.range == span(5, 0, 5, 0) and edit.new_text == "\n" + expected_tests()


async def test_a_client_without_workspace_edit_capabilities_gets_plain_edits_and_a_file_made_for_it(tmp_path: Path):
    host = await start_host(types.ClientCapabilities(), preview_edits=True)
    source, target = (tmp_path / "geometry.py").as_uri(), tmp_path / "test_geometry.py"
    host.open(source, GEOMETRY)
    await ask(host, span(4, 0, 6, 0), TESTS, uri=source)
    (applied,) = host.applied
    assert applied.edit.document_changes is None and applied.edit.change_annotations is None
    assert list(applied.edit.changes or {}) == [target.as_uri()] and target.read_text() == ""


@pytest.mark.parametrize("client", CLIENTS)
async def test_preview_edits_need_confirmation_where_the_client_has_change_annotations(client: str):
    host = await opened(client, preview_edits=True)
    await ask(host, COMMENTED)
    (applied,) = host.applied
    if client == VSCODE:
        annotation = (applied.edit.change_annotations or {})["magicoder"]
        assert annotation.needs_confirmation is True and annotation.label == "Ask Magicoder: add type hints"
        edit = only_edit(host)
        assert isinstance(edit, types.AnnotatedTextEdit) and edit.annotation_id == "magicoder"
    else:
        assert client == NEOVIM and applied.edit.change_annotations is None
        assert not isinstance(only_edit(host), types.AnnotatedTextEdit)


async def test_document_changes_without_annotation_support_give_a_plain_versioned_edit():
    caps = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)
        )
    )
    host = await start_host(caps, preview_edits=True)
    host.open(URI, GEOMETRY, version=4)
    await ask(host, COMMENTED)
    (applied,) = host.applied
    (change,) = applied.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 4
    assert applied.edit.change_annotations is None and not isinstance(change.edits[0], types.AnnotatedTextEdit)


async def test_an_answer_cut_by_max_new_tokens_is_delivered_for_review_with_a_warning():
    host = await opened(max_new_tokens=4)
    outcome = await ask(host, COMMENTED)
    assert outcome["truncated"] is True and outcome["applied"] is True and outcome["tokens"] == 4
    assert host.texts(types.MessageType.Warning) == [
        "Magicoder: the answer was cut at 4 tokens (setting maxNewTokens): review the edit"
    ]
    assert isinstance(only_edit(host), types.AnnotatedTextEdit)  # confirmation needed though previewEdits is off


async def test_temperature_reaches_the_generation_as_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    host = await opened(temperature=0.7)
    seen: list[Sampling] = []
    generate = host.model.generate

    async def spy(*args, **kwargs):
        seen.append(kwargs["sampling"])
        return await generate(*args, **kwargs)

    monkeypatch.setattr(host.model, "generate", spy)
    await ask(host, COMMENTED)
    (sampling,) = seen
    assert sampling.temperature == 0.7
