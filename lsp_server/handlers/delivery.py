"""Delivering an answer that replaces lines of the document it was asked on, though the user typed meanwhile.

An answer takes seconds (tens of them on a CPU) and the user goes on typing. When the edit is due, the lines
are followed through the changes made since the version Magicoder was asked on (rebase.py): if nothing
touched them, the answer replaces them where they are now, in an edit carrying the version now (a client
with documentChanges refuses it if the user typed again in between; then it is placed again, up to
MAX_REBASES times; for a client without them this check is the server's own). If the user changed the
lines themselves (or the document was closed, or changed in a way that cannot be followed), nothing is
edited: the answer is saved to a file and the user is offered to see it, or, where the editor can ask for
confirmation and the lines can still be found, to review it as an edit of the lines as they are now. The
answer is never silently dropped.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from ..errors import InvalidParams
from ..rebase import Placement, place
from .edits import supports_annotations, text_edit
from .host import Document, Host

MAX_REBASES = 3
SHOW, REVIEW = "Show answer", "Review edit"
CLOSED = "the document was closed while Magicoder was answering"
CHANGED = "the document changed while Magicoder was answering in a way that cannot be followed"
TOUCHED = "the selected lines changed while Magicoder was answering"
RESTLESS = "the document kept changing while the answer was being applied"
_offers: set[asyncio.Task] = set()  # the offers waiting for the user's choice (kept from the garbage collector)


@dataclass(frozen=True)
class Asked:
    """Lines ``first``..``last`` of a document as Magicoder was asked on it, and the edit's label."""

    doc: Document
    first: int
    last: int
    label: str


def outcome_of(response: types.ApplyWorkspaceEditResult | None) -> dict:
    """The command's outcome for the editor's answer to workspace/applyEdit."""
    if response and response.applied:
        return {"applied": True}
    return {"applied": False, "reason": (response and response.failure_reason) or "the editor did not apply the edit"}


def _live_version(host: Host, uri: str) -> int | str | None:
    try:
        return host.document(uri).version
    except InvalidParams:
        return "closed"


def _locate(host: Host, asked: Asked) -> tuple[Document, Placement] | str:
    """The document now and where the lines are in it, or why they cannot be placed."""
    try:
        now = host.document(asked.doc.uri)
    except InvalidParams:
        return CLOSED
    if now.version == asked.doc.version:
        return now, Placement(asked.first, asked.last, True)
    changes = None if asked.doc.version is None else host.changes_since(asked.doc.uri, asked.doc.version)
    if changes is None:
        return CHANGED
    placement = place(asked.doc.text, asked.first, asked.last, changes, now.text, host.encoding)
    return (now, placement) if placement is not None else CHANGED


async def _replace(host: Host, asked: Asked, code: str, preview: bool, review: bool) -> dict | str:
    """Replace the lines by the answer where they are now; with ``review`` also lines the user changed (the
    edit then needs confirmation). The outcome, or why the answer was not applied."""
    for _ in range(1 + MAX_REBASES):
        located = _locate(host, asked)
        if isinstance(located, str):
            return located
        now, placement = located
        if not (placement.intact or review):
            return TOUCHED
        end = types.Position(placement.last, now.text.line_end_column(placement.last, host.encoding))
        edit_range = types.Range(types.Position(placement.first, 0), end)
        edit = text_edit(host.client_capabilities, now.uri, now.version, edit_range, code, asked.label, preview)
        outcome = outcome_of(await host.apply_edit(edit, asked.label))
        if outcome["applied"]:
            return {**outcome, "rebased": True} if now.version != asked.doc.version else outcome
        if _live_version(host, now.uri) == now.version:  # refused, and not for a version typed over
            return outcome
    return RESTLESS


async def deliver_rewrite(host: Host, asked: Asked, code: str, preview: bool) -> dict:
    """The answer applied in place of the lines where they are now, or kept for the user."""
    replaced = await _replace(host, asked, code, preview, review=False)
    return replaced if isinstance(replaced, dict) else keep_answer(host, asked, code, replaced)


def save_answer(doc: Document, code: str) -> Path:
    """The answer in a new file of the temporary folder, named after the document (readable by the user only)."""
    stem, suffix = (doc.path.stem, doc.path.suffix) if doc.path else ("untitled", ".txt")
    fd, name = tempfile.mkstemp(prefix=f"magicoder-{stem}-answer-", suffix=suffix)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
        file.write(code if code.endswith("\n") else code + "\n")
    return Path(name)


def _supports_show_document(caps: types.ClientCapabilities) -> bool:
    return bool(caps.window and caps.window.show_document and caps.window.show_document.support)


def keep_answer(host: Host, asked: Asked, code: str, why: str) -> dict:
    """Nothing edited: the answer saved to a file, the user told where and offered to see or review it."""
    path = save_answer(asked.doc, code)
    reason = f"{why}, so nothing was changed; the answer is in {path}"
    caps = host.client_capabilities
    actions = [SHOW] if _supports_show_document(caps) else []
    if why in (TOUCHED, RESTLESS) and supports_annotations(caps):  # lines it can still find, to review an edit of
        actions.append(REVIEW)
    if actions:
        offer = asyncio.ensure_future(_offer(host, asked, code, path, f"Magicoder: {reason}", actions))
        _offers.add(offer)
        offer.add_done_callback(_offers.discard)
    else:
        host.show_message(types.MessageType.Warning, f"Magicoder: {reason}")
    return {"applied": False, "reason": reason, "answer": code, "answerUri": path.as_uri()}


async def _offer(host: Host, asked: Asked, code: str, path: Path, text: str, actions: list[str]) -> None:
    """Ask the user what to do with a kept answer (the command has returned by then), and do it."""
    choice = await host.show_message_request(types.MessageType.Warning, text, actions)
    if choice == SHOW:
        await host.show_document(path.as_uri())
    elif choice == REVIEW:
        reviewed = await _replace(host, asked, code, preview=True, review=True)
        if isinstance(reviewed, str) or not reviewed["applied"]:
            why = reviewed if isinstance(reviewed, str) else reviewed["reason"]
            host.show_message(types.MessageType.Warning, f"Magicoder: {why}; the answer is in {path}")
