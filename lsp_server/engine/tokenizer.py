"""Tokenization with Hugging Face `tokenizers` (no transformers at run time)."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

REPLACEMENT = "\ufffd"


class TextTokenizer:
    """Encode/decode exactly as transformers' fast tokenizer does (BOS from the post-processor)."""

    def __init__(self, path: Path, add_bos: bool = True):
        self._tok = Tokenizer.from_file(str(path))
        self.add_bos = add_bos

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        add = self.add_bos if add_bos is None else add_bos
        return self._tok.encode(text, add_special_tokens=add).ids

    def count(self, text: str) -> int:
        """Token count of a fragment (no BOS): the counter handed to prompt building."""
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=True)


class IncrementalDecoder:
    """Turns a stream of ids into text pieces, never emitting half a UTF-8 character.

    Byte-level BPE splits multi-byte characters across tokens; decoding a prefix then shows
    U+FFFD.  We decode a short window of recent tokens and hold text back while it ends with
    an incomplete character.
    """

    def __init__(self, tokenizer: TextTokenizer):
        self._tok = tokenizer
        self._ids: list[int] = []
        self._prefix_offset = 0  # start of the decode window
        self._read_offset = 0  # ids before this are already emitted

    def push(self, token_id: int) -> str:
        """Add one id; return the newly completed text (possibly empty)."""
        self._ids.append(token_id)
        prefix_text = self._tok.decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._tok.decode(self._ids[self._prefix_offset :])
        if len(new_text) > len(prefix_text) and not new_text.endswith(REPLACEMENT):
            piece = new_text[len(prefix_text) :]
            self._prefix_offset = self._read_offset
            self._read_offset = len(self._ids)
            return piece
        return ""

    def flush(self) -> str:
        """Whatever is still held back (an incomplete character decodes as U+FFFD)."""
        prefix_text = self._tok.decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._tok.decode(self._ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self._ids)
        return new_text[len(prefix_text) :]
