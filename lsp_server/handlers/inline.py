"""textDocument/inlineCompletion, and textDocument/completion for clients without inline completion.

Latest wins: a new request cancels the older one's generation mid-decode (and $/cancelRequest
cancels its own). Debounce: a request arriving less than ``debounceMs`` after the previous one
(the user is typing) first waits that long, and gives up if a newer one arrives meanwhile; a
request after a pause starts at once. While the model loads there is no ghost text (the editor
never waits for it). The prompt is built from the text around the cursor only, in the generation's worker
thread (off the event loop, and one thread hop per request).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from functools import partial

from lsprotocol import types

from ..assist import InlineContext, inline_context, inline_prompt, inline_text
from ..comments import comment_markers
from ..engine.api import FINISH_CANCELLED, CancelToken, InferenceEngine
from ..model_host import describe
from ..prompts import MAX_CHARS_PER_TOKEN, FimTokens, TokenMeasure
from ..snippets import MAX_SCAN_CHARS, Corpus, WindowIndex, query_text, render_snippets
from ..text import DocumentText, units
from .host import Document, Host

SNIPPET_SHARE = 0.25  # of the inline context budget, at most
COMPLETION_LABEL_CHARS = 60
_WORD_BEFORE = re.compile(r"[A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Completion:
    text: str
    line_prefix: str


class InlineCompleter:
    def __init__(self, host: Host):
        self.host = host
        self.latest = 0
        self.cancel: CancelToken | None = None
        self.last_arrival = float("-inf")
        self.superseded = 0
        self._indexes: dict[str, tuple[DocumentText, WindowIndex]] = {}  # by URI: the version indexed, its index
        self._corpus = Corpus(())  # of the other documents of the last request

    def _supersede(self) -> None:
        """Count a request a newer one replaced (reported in the next log line); it gets nothing."""
        self.superseded += 1

    async def complete(self, uri: str, position: types.Position) -> Completion | None:
        """The cleaned completion at the position, or None (disabled, superseded or nothing useful)."""
        started = time.perf_counter()
        host = self.host
        doc = host.document(uri)
        offset = doc.text.offset_at(position.line, position.character, host.encoding)
        if not host.settings.inline_enabled or host.model.is_loading:
            return None  # ghost text is optional: never make the editor wait for a model load
        self.latest += 1
        mine = self.latest
        if self.cancel is not None:
            self.cancel.cancel()  # latest wins: the older generation stops at its next decode step
        debounce = host.settings.debounce_ms / 1000
        typing = time.monotonic() - self.last_arrival < debounce
        self.last_arrival = time.monotonic()
        if typing:
            await asyncio.sleep(debounce)
        if mine != self.latest:
            self._supersede()
            return None
        engine = await host.model.engine()
        if mine != self.latest:
            self._supersede()
            return None
        ctx, low = self._context(doc, offset)
        cancel = self.cancel = CancelToken()
        host.track_request(cancel)
        stops = () if ctx.multiline else ("\n",)
        prompt = partial(self._prompt, engine, doc, ctx, low)  # tokenizing: in the generation's thread
        result = await host.model.generate(engine, prompt, host.settings.inline_max_new_tokens, stops, cancel)
        if result.finish_reason == FINISH_CANCELLED or mine != self.latest:
            self._supersede()
            return None
        skipped, self.superseded = self.superseded, 0
        line = describe("inline completion", result, time.perf_counter() - started)
        host.log_message(types.MessageType.Info, f"{line}; {skipped} superseded before it" if skipped else line)
        text = inline_text(result.text, ctx)
        return Completion(text, ctx.line_prefix) if text else None

    def _context(self, doc: Document, offset: int) -> tuple[InlineContext, int]:
        """The text around the cursor that can reach the prompt, and the document offset it starts at."""
        window = self.host.settings.inline_context_tokens * MAX_CHARS_PER_TOKEN
        low = max(0, offset - window)
        return inline_context(doc.text.slice(low, offset + window), offset - low), low

    def _prompt(self, engine: InferenceEngine, doc: Document, ctx: InlineContext, low: int) -> str:
        settings = self.host.settings
        m = engine.prompt_format
        measure = TokenMeasure.of(engine)
        header = self._snippets(doc, ctx.prefix, measure) if settings.inline_snippets else ""
        first_line = doc.text.position_at(low)[0]
        fim = FimTokens(m.fim_begin, m.fim_hole, m.fim_end)
        return inline_prompt(ctx, fim, measure, settings.inline_context_tokens, first_line, header)

    def _index(self, doc: Document) -> WindowIndex:
        """The snippet index of a document's version (built once per version, from its first characters)."""
        held = self._indexes.get(doc.uri)
        if held is None or held[0] is not doc.text:
            held = self._indexes[doc.uri] = (doc.text, WindowIndex(doc.text.slice(0, MAX_SCAN_CHARS)))
        return held[1]

    def _snippets(self, doc: Document, prefix: str, measure: TokenMeasure) -> str:
        open_now = self.host.open_documents()
        for closed in self._indexes.keys() - {other.uri for other in open_now}:
            self._indexes.pop(closed, None)
        others = [
            (other.path.name if other.path else other.uri, self._index(other))
            for other in open_now
            if other.uri != doc.uri and other.language_id == doc.language_id
        ]
        if others != self._corpus.documents:
            self._corpus = Corpus(others)
        snippets = self._corpus.pick(query_text(prefix))
        marker = (comment_markers(doc.language_id) or ("#",))[0].strip()
        return render_snippets(snippets, marker, measure, int(self.host.settings.inline_context_tokens * SNIPPET_SHARE))


def inline_items(found: Completion | None, position: types.Position) -> types.InlineCompletionList:
    if found is None:
        return types.InlineCompletionList(items=[])
    where = types.Range(position, position)
    return types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text=found.text, range=where)])


def completion_items(found: Completion | None, position: types.Position, encoding: str) -> types.CompletionList:
    """The completion as one completion item that replaces the word before the cursor (clients filter by it)."""
    if found is None:
        return types.CompletionList(is_incomplete=True, items=[])
    before = _WORD_BEFORE.search(found.line_prefix)
    assert before is not None  # the pattern also matches the empty string at the end of any text
    word = before.group(0)
    start = types.Position(position.line, max(0, position.character - units(word, encoding)))
    first_line = (word + found.text).split("\n", 1)[0]
    label = first_line if len(first_line) <= COMPLETION_LABEL_CHARS else first_line[: COMPLETION_LABEL_CHARS - 1] + "…"
    item = types.CompletionItem(
        label=label if "\n" not in found.text else f"{label} …",
        kind=types.CompletionItemKind.Text,
        detail="Magicoder",
        filter_text=first_line,
        sort_text="0",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(types.Range(start, position), word + found.text),
    )
    return types.CompletionList(is_incomplete=True, items=[item])
