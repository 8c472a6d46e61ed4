"""Tokenization with Hugging Face `tokenizers` (no transformers at run time)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

from .token_memo import Encoded, LineEncoder, Memo, isolates_line_breaks, whole

REPLACEMENT = "\ufffd"
# Checks that encoding a prompt piece by piece gives what encoding it whole gives.
_PROBE = "def f(x):\n    return x  # é 😀\n\n  \t{added}  tail\r\n{added}{added}\n"


class TextTokenizer:
    """Encode/decode exactly as transformers' fast tokenizer does (BOS from the post-processor).

    Prompt building counts the same prefix and suffix several times, the engine then encodes the
    whole prompt, and the next keystroke asks for nearly the same text again. So texts are encoded
    between added tokens (which split the input in `tokenizers` too), line by line where no token
    crosses a line break, and the latest texts are remembered (token_memo.py): a keystroke costs
    the tokens of one line. A tokenizer for which that would not be exact is used whole.
    """

    def __init__(self, path: Path, add_bos: bool = True):
        source = Path(path).read_text(encoding="utf-8")
        self._tok = Tokenizer.from_str(source)
        self.add_bos = add_bos
        self._memo = Memo()
        self._lines = LineEncoder(self._tok) if isolates_line_breaks(json.loads(source)) else None
        self._added = self._splitter()
        self._post = self._tok.encode("", add_special_tokens=True).ids  # what the post-processor adds (BOS)
        if not self._pieces_match():
            self._added = self._lines = None  # not exact for this tokenizer: encode whole

    def _splitter(self) -> re.Pattern[str] | None:
        """A pattern matching the added tokens, when each of them simply splits the input."""
        added = list(self._tok.get_added_tokens_decoder().values())
        if not added or any(a.lstrip or a.rstrip or a.single_word or a.normalized for a in added):
            return None
        contents = sorted({a.content for a in added}, key=len, reverse=True)
        return re.compile("(" + "|".join(map(re.escape, contents)) + ")")

    def _pieces_match(self) -> bool:
        if self._added is None:
            return False
        for content in sorted({a.content for a in self._tok.get_added_tokens_decoder().values()}):
            probe = _PROBE.format(added=content)
            for add in (False, True):
                if self._encode_pieces(probe, add) != self._tok.encode(probe, add_special_tokens=add).ids:
                    return False
        return True

    def _fragment(self, text: str) -> Encoded:
        """A text without added tokens: ids and token starts (remembered)."""
        known = self._memo.get(text)
        if known is None:
            known = self._lines.encode(text) if self._lines is not None else whole(self._tok, text)
            self._memo.put(text, known)
        return known

    def _encode_pieces(self, text: str, add_bos: bool) -> list[int]:
        assert self._added is not None
        ids = list(self._post) if add_bos else []
        for i, piece in enumerate(self._added.split(text)):
            if i % 2:  # an added token
                token_id = self._tok.token_to_id(piece)
                assert token_id is not None  # the splitter matches the contents of added tokens only
                ids.append(token_id)
            elif piece:
                ids.extend(self._fragment(piece)[0])
        return ids

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        add = self.add_bos if add_bos is None else add_bos
        if self._added is None:
            return self._tok.encode(text, add_special_tokens=add).ids
        return self._encode_pieces(text, add)

    def count(self, text: str) -> int:
        """Token count of a fragment (no BOS): the counter handed to prompt building."""
        return len(self.encode(text, add_bos=False))

    def starts(self, text: str) -> Sequence[int]:
        """The character offset where each token of a fragment (no BOS) starts."""
        if self._added is None or self._added.search(text):
            return whole(self._tok, text)[1]
        return self._fragment(text)[1]

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=True)

    @property
    def raw(self) -> Tokenizer:
        """The `tokenizers` Tokenizer itself (for its streaming decoder)."""
        return self._tok


class IncrementalDecoder:
    """Turns a stream of ids into text pieces, never emitting half a UTF-8 character.

    Byte-level BPE splits multi-byte characters across tokens; decoding a prefix then shows
    U+FFFD.  The window of ids since the last piece is decoded and held back while it ends with
    an incomplete character: `tokenizers`' DecodeStream does that in one call per token (one
    decode, in Rust; two Python-side decodes cost ~25 us of a decode step's gap between runs).
    Should its window ever not extend the text it last showed (DecodeStream raises), the piece
    is taken from the same window here and the stream restarts from it.
    """

    def __init__(self, tokenizer: TextTokenizer):
        self._tok = tokenizer
        self._stream = DecodeStream(skip_special_tokens=True)
        self._ids: list[int] = []
        self._prefix_offset = 0  # start of the decode window: the ids of the last piece
        self._read_offset = 0  # ids before this are already emitted

    def push(self, token_id: int) -> str:
        """Add one id; return the newly completed text (possibly empty)."""
        self._ids.append(token_id)
        try:
            piece = self._stream.step(self._tok.raw, token_id)
        except Exception:  # tokenizers' DecodeStreamError (InvalidPrefix): not exported by name
            piece = self._window_piece(final=False)
            self._stream = DecodeStream(self._ids[self._prefix_offset :], skip_special_tokens=True)
            return piece
        if piece is None:
            return ""
        self._prefix_offset, self._read_offset = self._read_offset, len(self._ids)
        return piece

    def flush(self) -> str:
        """Whatever is still held back (an incomplete character decodes as U+FFFD)."""
        return self._window_piece(final=True)

    def _window_piece(self, final: bool) -> str:
        prefix_text = self._tok.decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._tok.decode(self._ids[self._prefix_offset :])
        if final or (len(new_text) > len(prefix_text) and not new_text.endswith(REPLACEMENT)):
            self._prefix_offset, self._read_offset = self._read_offset, len(self._ids)
            return new_text[len(prefix_text) :]
        return ""
