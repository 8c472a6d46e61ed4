"""magicoder.ask in process when the user typed elsewhere during the answer: the answer replaces the lines where
they are now, in an edit carrying the version now, placed again when the editor refuses it because the user
typed again; lines the user changed get no edit, the answer is kept and offered (Show answer, Review edit).
Over LSP with real didChange notifications: test_lsp_ask_rebase.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_server.errors import RequestFailed
from lsp_server.handlers.actions import ask_argument
from lsp_server.handlers.ask import execute_ask
from lsp_server.handlers.delivery import MAX_REBASES, RESTLESS, REVIEW, SHOW, TOUCHED
from lsp_server.tasks import DOCSTRING, FIX, TESTS, docstring_request
from tests.helpers.clients import CLIENTS, NEOVIM, VSCODE
from tests.helpers.edits import AnyTextEdit, edits_of
from tests.helpers.positions import span
from tests.helpers.recording_host import RecordingHost, start_host, while_answering
from tests.helpers.samples import GEOMETRY, GEOMETRY_LINES
from tests.helpers.waiting import wait_until
from tests.test_handlers_ask import AREA, COMMENTED, URI, ask

ANSWER = f"# fake: add type hints\n{AREA}"  # replaces lines 4-5 (the function under the comment)
TOP = span(0, 0, 0, 0)
END_OF_RETURN = span(5, len(GEOMETRY_LINES[5]), 5, len(GEOMETRY_LINES[5]))


def area_range(shift: int = 0, end: int = len(GEOMETRY_LINES[5])) -> types.Range:
    return span(4 + shift, 0, 5 + shift, end)


def edit_of(host: RecordingHost, index: int = -1) -> tuple[int | None, AnyTextEdit]:
    """The version an applied edit carries (None: the plain changes map) and its one text edit."""
    edit = host.applied[index].edit
    (text_edit,) = edits_of(edit)[URI]
    if edit.document_changes is None:
        return None, text_edit
    (change,) = edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    return change.text_document.version, text_edit


async def opened(client: str = VSCODE) -> RecordingHost:
    host = await start_host(client)
    host.open(URI, GEOMETRY, version=3)
    return host


@pytest.fixture
def kept_in(monkeypatch, tmp_path: Path) -> Path:
    """Where kept answers are saved (the temporary folder)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("typed", "at", "shift"),
    [
        ("a line above", TOP, 1),
        ("lines below", span(8, 0, 8, 0), 0),
        ("Enter at the end of the last line", END_OF_RETURN, 0),  # a new line below the lines, not in them
        ("a line above deleted", span(1, 0, 2, 0), -1),
    ],
)
async def test_typing_outside_the_lines_moves_the_answer_with_them(monkeypatch, client, typed, at, shift):
    host = await opened(client)
    text = {"a line above": "import sys\n", "lines below": "# shapes\n\n", "Enter at the end of the last line": "\n"}
    while_answering(host, monkeypatch, lambda: host.edit(URI, at, text.get(typed, "")))
    outcome = await ask(host, COMMENTED)
    assert outcome["applied"] is True and outcome["rebased"] is True
    version, edit = edit_of(host)
    assert edit.range == area_range(shift) and edit.new_text == ANSWER
    # The version now (the editor refuses it if the user typed again); Neovim: the server checked it itself.
    assert version == (4 if client == VSCODE else None)
    assert len(host.applied) == 1 and host.messages == [] and host.message_requests == []


async def test_an_answer_refused_because_the_user_typed_again_is_placed_again(monkeypatch):
    host = await opened()
    while_answering(host, monkeypatch, lambda: host.edit(URI, TOP, "import sys\n"))
    host.typing = [lambda: host.edit(URI, TOP, "# typed while the edit was on its way\n")]
    outcome = await ask(host, COMMENTED)
    assert outcome["applied"] is True and outcome["rebased"] is True
    assert [edit_of(host, i) for i in (0, 1)] == [
        (4, types.TextEdit(area_range(1), ANSWER)),  # refused: the editor was at version 5 by then
        (5, types.TextEdit(area_range(2), ANSWER)),
    ]


async def test_an_editor_that_keeps_changing_gets_no_edit_and_the_answer_is_kept(monkeypatch, kept_in):
    host = await opened()
    host.typing = [lambda: host.edit(URI, TOP, "#\n")] * (1 + MAX_REBASES)
    while_answering(host, monkeypatch, lambda: host.edit(URI, TOP, "import sys\n"))
    outcome = await ask(host, COMMENTED)
    assert outcome["applied"] is False and outcome["reason"].startswith(f"{RESTLESS}, so nothing was changed")
    assert [edit_of(host, i)[0] for i in range(len(host.applied))] == [4, 5, 6, 7]  # each at the version then
    await wait_until(lambda: host.message_requests, what="the offer")
    assert host.message_requests[0][2] == [SHOW, REVIEW]
    assert Path(kept_in, Path(outcome["answerUri"]).name).read_text() == ANSWER + "\n"


async def test_review_edit_offers_the_answer_over_the_lines_as_the_user_changed_them(monkeypatch, kept_in):
    host = await opened()
    host.message_choice = REVIEW
    while_answering(host, monkeypatch, lambda: host.edit(URI, END_OF_RETURN, "  # in metres"))
    outcome = await ask(host, COMMENTED)
    assert outcome["applied"] is False and outcome["reason"].startswith(f"{TOUCHED}, so nothing was changed")
    await wait_until(lambda: host.applied, what="the edit to review")
    version, edit = edit_of(host)
    assert version == 4 and edit.range == area_range(end=len(GEOMETRY_LINES[5] + "  # in metres"))
    assert isinstance(edit, types.AnnotatedTextEdit) and edit.new_text == ANSWER
    annotations = host.applied[0].edit.change_annotations or {}
    assert annotations[edit.annotation_id].needs_confirmation is True  # the Refactor Preview, against the text now
    assert host.messages == []


async def test_show_answer_opens_the_saved_answer(monkeypatch, kept_in):
    host = await opened(NEOVIM)  # no change annotations: Show answer only
    host.message_choice = SHOW
    while_answering(host, monkeypatch, lambda: host.edit(URI, span(5, 11, 5, 15), "numpy"))
    outcome = await ask(host, COMMENTED)
    await wait_until(lambda: host.shown_documents, what="the answer to be shown")
    assert host.shown_documents == [outcome["answerUri"]] and host.applied == []
    (request,) = host.message_requests
    assert request[2] == [SHOW] and str(Path(kept_in)) in request[1]


async def test_an_editor_without_actions_is_told_where_the_answer_is(monkeypatch, kept_in):
    host = await start_host(types.ClientCapabilities())  # no showDocument, no documentChanges
    host.open(URI, GEOMETRY, version=3)
    while_answering(host, monkeypatch, lambda: host.edit(URI, span(4, 4, 4, 8), "surface"))
    outcome = await ask(host, COMMENTED)
    assert outcome["applied"] is False and host.applied == [] and host.message_requests == []
    assert host.messages == [(types.MessageType.Warning, f"Magicoder: {outcome['reason']}")]
    assert outcome["reason"].endswith(f"the answer is in {Path(kept_in, Path(outcome['answerUri']).name)}")


@pytest.mark.parametrize("client", CLIENTS)
async def test_fix_and_docstring_answers_follow_their_lines_too(monkeypatch, client):
    host = await opened(client)
    while_answering(host, monkeypatch, lambda: host.edit(URI, TOP, "import sys\n"))
    request = "Fix the following code. pyflakes reports on line 1: undefined name 'math'"
    await ask(host, span(5, 0, 5, 26), FIX, request)
    await ask(host, span(5, 0, 7, 0), DOCSTRING)  # asked on version 4, the function a line lower, then one more
    fixed, documented = edit_of(host, 0), edit_of(host, 1)
    version = {VSCODE: (4, 5), NEOVIM: (None, None)}[client]
    fix = f"    # fake: {request}\n    return math.pi * r * r"
    assert fixed == (version[0], types.TextEdit(span(6, 0, 6, 26), fix))
    assert documented == (version[1], types.TextEdit(area_range(2), f"# fake: {docstring_request('python')}\n{AREA}"))


async def test_tests_go_to_their_file_whatever_was_typed_in_the_source(monkeypatch, tmp_path: Path):
    host = await opened()
    source = (tmp_path / "geometry.py").as_uri()
    host.open(source, GEOMETRY, version=3)
    while_answering(host, monkeypatch, lambda: host.edit(source, span(4, 4, 4, 8), "surface"))  # the selection
    outcome = await ask(host, span(4, 0, 6, 0), TESTS, uri=source)
    assert outcome["applied"] is True and outcome["file"] == (tmp_path / "test_geometry.py").as_uri()
    create, fill = host.applied[0].edit.document_changes or []
    assert isinstance(create, types.CreateFile) and isinstance(fill, types.TextDocumentEdit)
    assert host.message_requests == []


async def test_an_action_offered_before_a_line_was_typed_above_follows_its_selection():
    host = await opened()
    (offered,) = [ask_argument(host.document(URI), COMMENTED, "ask", None)]
    host.edit(URI, TOP, "import sys\n")  # after the lightbulb offered the action, before it was picked
    outcome = await execute_ask(host, [offered])
    assert outcome["applied"] is True
    version, edit = edit_of(host)
    assert version == 4 and edit.range == area_range(1) and edit.new_text == ANSWER


async def test_an_action_whose_selection_was_edited_since_it_was_offered_is_refused():
    host = await opened()
    (offered,) = [ask_argument(host.document(URI), COMMENTED, "ask", None)]
    host.edit(URI, span(4, 0, 4, 0), "    ")  # inside the selection
    with pytest.raises(RequestFailed, match=r"changed since the action was offered \(version 3, now 4\)"):
        await execute_ask(host, [offered])
    assert host.applied == [] and host.progress == []
