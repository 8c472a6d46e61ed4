"""Typing while Magicoder answers, end to end over stdio: the server process on a slow fake engine, an editor
that sends each change the user makes as an incremental didChange and applies the server's edits as editors do (an edit
naming a version only on that version), under the VS Code capability set (documentChanges: the editor checks
the version) and Neovim's (the plain changes map, UTF-8 columns: the server checks it).

Typing above or below the selected lines moves nothing of the answer: it lands where the lines are now.
Typing in them leaves them as the user made them, and the answer is kept and offered instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from lsprotocol import types

from lsp_server.handlers.delivery import CHANGED, REVIEW, SHOW, TOUCHED
from lsp_server.tasks import DOCSTRING, FIX, TESTS, docstring_request
from lsp_server.text import DocumentText
from tests.helpers.clients import CLIENTS, ENCODINGS, VSCODE
from tests.helpers.edits import edits_of
from tests.helpers.lsp_session import RecordingClient, change_doc, execute, fake_server, kept_answer, open_doc
from tests.helpers.positions import span
from tests.helpers.waiting import wait_until

TOKEN_MS = 50  # the answer below is ~35 tokens: nearly 2 s to type during
client = fake_server("--fake-token-ms", str(TOKEN_MS), clients=CLIENTS)
vscode = fake_server("--fake-token-ms", str(TOKEN_MS))

URI = "file:///work/area.py"
FUNCTION = """def area(r):
    \"\"\"Surface d'un disque (π r²).\"\"\"
    squared = r * r
    return math.pi * squared"""
SOURCE = f'import math\n\n# add type hints\n{FUNCTION}\n\nprint(area(2), "½")\n'
RETURN = "    return math.pi * squared"
COMMENTED = span(2, 0, 6, len(RETURN))  # the comment (line 2) and the function (lines 3-6)
ANSWER = f"# fake: add type hints\n{FUNCTION}"  # what the fake engine answers, in place of lines 3-6

# What the user types: (start, end) offsets in the document as it is, and the new text.
Typing = Callable[[str], tuple[tuple[int, int], str]]
IMPORT = "\nimport cmath  # ∑"
NOTE = "  # ≈ 12.57"


def above(text: str) -> tuple[tuple[int, int], str]:  # a line after the first (from its end)
    return (len("import math"), len("import math")), IMPORT


def below(text: str) -> tuple[tuple[int, int], str]:  # at the end of the last line, after "½"
    return (len(text) - 1, len(text) - 1), NOTE


def inside(text: str) -> tuple[tuple[int, int], str]:  # a word of the return line renamed
    return (text.index("squared\n"), text.index("squared\n") + len("squared")), "r2"


def with_typing(text: str, *typing: Typing) -> str:
    """``text`` after the user's typing (what they typed: no answer)."""
    for typed in typing:
        (start, end), new = typed(text)
        text = text[:start] + new + text[end:]
    return text


class Editor:
    """The test's editor over the client: its documents, each change sent as an incremental didChange, and the
    server's edits applied to them as an editor applies them (then sent as a didChange too)."""

    def __init__(self, client: RecordingClient):
        self.client, self.encoding = client, ENCODINGS[client.client_name]
        self.docs: dict[str, tuple[int, str]] = {}
        self.typed_when_an_edit_arrives: list[Typing] = []  # the user typing again while an edit is on its way
        client.on_apply_edit = self.apply

    def open(self, uri: str, text: str) -> None:
        open_doc(self.client, uri, text)
        self.docs[uri] = (1, text)

    def text(self, uri: str = URI) -> str:
        return self.docs[uri][1]

    def version(self, uri: str = URI) -> int:
        return self.docs[uri][0]

    def type(self, uri: str, typed: Typing) -> None:
        (start, end), new = typed(self.text(uri))
        doc = DocumentText(self.text(uri))
        (sl, sc), (el, ec) = doc.position_at(start, self.encoding), doc.position_at(end, self.encoding)
        self._change(uri, span(sl, sc, el, ec), new)

    def _change(self, uri: str, at: types.Range, new: str) -> None:
        version, text = self.docs[uri]
        doc = DocumentText(text)
        start = doc.offset_at(at.start.line, at.start.character, self.encoding)
        end = doc.offset_at(at.end.line, at.end.character, self.encoding)
        self.docs[uri] = (version + 1, text[:start] + new + text[end:])
        identifier = types.VersionedTextDocumentIdentifier(version=version + 1, uri=uri)
        change = types.TextDocumentContentChangePartial(range=at, text=new)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(identifier, [change]))

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if self.typed_when_an_edit_arrives:
            self.type(URI, self.typed_when_an_edit_arrives.pop(0))
        for change in params.edit.document_changes or []:
            named = change.text_document if isinstance(change, types.TextDocumentEdit) else None
            if named and named.uri in self.docs and named.version != self.version(named.uri):
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the document changed")
        for uri, edits in edits_of(params.edit).items():
            if uri in self.docs:  # (a new test file is not open)
                (edit,) = edits
                self._change(uri, edit.range, edit.new_text)
        return types.ApplyWorkspaceEditResult(applied=True)


def busy_count(client: RecordingClient) -> int:
    return sum(status["state"] == "busy" for status in client.statuses)


async def ask_while(editor: Editor, selection: types.Range, meanwhile: Callable[[], None], uri: str, **more) -> dict:
    """magicoder.ask on ``selection`` at the document's version now; ``meanwhile()`` once the answer generates."""
    place = editor.client.protocol._converter.unstructure(selection)
    argument = {"uri": uri, "version": editor.version(uri), "range": place, **more}
    busy = busy_count(editor.client)
    task = asyncio.ensure_future(execute(editor.client, "magicoder.ask", [argument]))
    await wait_until(lambda: busy_count(editor.client) > busy, what="the answer to start")
    meanwhile()
    return await asyncio.wait_for(task, 30)


async def ask_while_typing(editor: Editor, selection: types.Range, *typing: Typing, uri: str = URI, **more) -> dict:
    """magicoder.ask, the user typing once the answer generates."""

    def type_all() -> None:
        for typed in typing:
            editor.type(uri, typed)

    return await ask_while(editor, selection, type_all, uri, **more)


def edit_versions(client: RecordingClient) -> list[int | None]:
    """The version each edit the server sent names (None: a plain changes map, which names none)."""
    versions = []
    for params in client.applied_edits:
        changes = params.edit.document_changes
        edits = [c for c in changes or [] if isinstance(c, types.TextDocumentEdit)]
        versions.append(None if changes is None else edits[-1].text_document.version)
    return versions


@pytest.mark.parametrize("typing", [(above,), (below,), (below, above)], ids=["above", "below", "below-above"])
async def test_typing_above_or_below_the_lines_leaves_the_answer_where_the_lines_are(client, typing):
    editor = Editor(client)
    editor.open(URI, SOURCE)
    outcome = await ask_while_typing(editor, COMMENTED, *typing)
    assert outcome["applied"] is True and outcome["rebased"] is True, outcome
    # As if the answer had come first and the user typed after it: no answer lost, no character of theirs.
    assert editor.text() == with_typing(SOURCE.replace(FUNCTION, ANSWER), *typing)
    # VS Code: the version now (the editor refuses it if the user typed again); Neovim: checked by the server.
    assert edit_versions(client) == [1 + len(typing) if client.client_name == VSCODE else None]
    assert client.message_requests == [] and client.messages == []


async def test_typing_in_the_lines_keeps_them_as_typed_and_offers_the_answer(client):
    editor = Editor(client)
    editor.open(URI, SOURCE)
    vscode = client.client_name == VSCODE
    client.message_choice = REVIEW if vscode else SHOW
    outcome = await ask_while_typing(editor, COMMENTED, above, inside)
    assert outcome["applied"] is False and outcome["reason"].startswith(f"{TOUCHED}, so nothing was changed")
    assert kept_answer(outcome) == ANSWER + "\n" and outcome["answer"] == ANSWER
    await wait_until(lambda: client.message_requests, what="the offer")
    (offer,) = client.message_requests
    assert offer.type == types.MessageType.Warning and offer.message == f"Magicoder: {outcome['reason']}"
    assert [action.title for action in offer.actions or []] == ([SHOW, REVIEW] if vscode else [SHOW])
    typed = with_typing(SOURCE, above, inside)
    if vscode:  # Review edit: the answer over the lines as they are now, to confirm in the Refactor Preview
        await wait_until(lambda: client.applied_edits, what="the edit to review")
        (params,) = client.applied_edits
        (change,) = params.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 3
        (edit,) = change.edits
        assert isinstance(edit, types.AnnotatedTextEdit)
        assert (params.edit.change_annotations or {})[edit.annotation_id].needs_confirmation is True
        assert editor.text() == typed.replace(FUNCTION.replace("* squared", "* r2"), ANSWER)
    else:  # Show answer: the saved answer opened; the lines stay as the user typed them
        await wait_until(lambda: client.shown_documents, what="the answer to be shown")
        assert [shown.uri for shown in client.shown_documents] == [outcome["answerUri"]]
        assert client.applied_edits == [] and editor.text() == typed


async def test_an_edit_refused_because_the_user_typed_again_is_placed_again(vscode):
    editor = Editor(vscode)
    editor.open(URI, SOURCE)
    editor.typed_when_an_edit_arrives = [above]
    outcome = await ask_while_typing(editor, COMMENTED, below)
    assert outcome["applied"] is True and outcome["rebased"] is True
    assert edit_versions(vscode) == [2, 3]  # refused at 2 (the editor was at 3), applied at 3
    assert editor.text() == with_typing(SOURCE.replace(FUNCTION, ANSWER), below, above)


async def test_a_whole_document_replaced_cannot_be_followed_and_keeps_the_answer(vscode):
    editor = Editor(vscode)
    editor.open(URI, SOURCE)

    def rewrite() -> None:  # one change holding the whole text
        change_doc(vscode, URI, "# rewritten\n" + SOURCE, version=2)

    outcome = await ask_while(editor, COMMENTED, rewrite, URI)
    assert outcome["applied"] is False and outcome["reason"].startswith(f"{CHANGED}, so nothing was changed")
    assert kept_answer(outcome) == ANSWER + "\n" and vscode.applied_edits == []
    await wait_until(lambda: vscode.message_requests, what="the offer")
    assert [action.title for action in vscode.message_requests[0].actions or []] == [SHOW]


async def test_fix_and_docstring_answers_follow_their_lines(client):
    editor = Editor(client)
    editor.open(URI, SOURCE)
    request = "Fix the following code. pyflakes reports on line 6: undefined name 'math'"
    fixed = await ask_while_typing(editor, span(6, 0, 6, len(RETURN)), above, task=FIX, instruction=request)
    assert fixed["applied"] is True and fixed["rebased"] is True
    expected = with_typing(SOURCE, above).replace(RETURN, f"    # fake: {request}\n{RETURN}")
    assert editor.text() == expected
    function = expected[expected.index("def area") : expected.index(RETURN) + len(RETURN)]
    documented = await ask_while_typing(editor, span(4, 0, 9, 0), below, task=DOCSTRING)  # the function now
    assert documented["applied"] is True and documented["rebased"] is True
    answer = f"# fake: {docstring_request('python')}\n{function}"
    assert editor.text() == with_typing(expected.replace(function, answer), below)
    named = [2, 4] if client.client_name == VSCODE else [None, None]  # asked at 1 then 3, each after a change
    assert edit_versions(client) == named


async def test_tests_go_to_their_file_whatever_is_typed_in_the_source(client, tmp_path: Path):
    editor = Editor(client)
    source = (tmp_path / "area.py").as_uri()
    editor.open(source, SOURCE)
    outcome = await ask_while_typing(editor, span(3, 0, 7, 0), above, inside, uri=source, task=TESTS)
    assert outcome["applied"] is True and outcome["file"] == (tmp_path / "test_area.py").as_uri()
    assert editor.text(source) == with_typing(SOURCE, above, inside)  # the source is not edited
    (params,) = client.applied_edits
    (new_text,) = [edit.new_text for edit in edits_of(params.edit)[outcome["file"]]]
    assert new_text.startswith("# fake: Write unit tests") and client.message_requests == []
