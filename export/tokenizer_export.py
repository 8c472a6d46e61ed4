"""Ship a tokenizer that encodes exactly as transformers does, BOS included.

The engine tokenizes with the `tokenizers` library from tokenizer.json (no transformers at run time).
transformers may build its fast tokenizer differently from the file on disk (a tokenizer class that
rewrites the normalizer, pre-tokenizer or post-processor), so after copying the files we compare both
on sample texts; on a mismatch we ship transformers' own backend tokenizer instead and compare again.
BOS: transformers 5 adds it when tokenizer.json's post-processor does, whatever ``add_bos_token``
says; see ``export_tokenizer``.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from lsp_server.engine import TextTokenizer
from lsp_server.magicoder import FIM_BEGIN, FIM_END, FIM_HOLE

log = logging.getLogger(__name__)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
EDGE_TEXTS = (
    "",
    "x",
    "  indented\r\n\ttabs and trailing spaces   \n",
    f"{FIM_BEGIN}def f(a):\n    {FIM_HOLE}\n    return a{FIM_END}",
    "emoji 🐍 and CJK 漢字, accents: naïve café, digits 1234567890",
)


def copy_tokenizer(src: Path, dst: Path) -> None:
    """Copy a Hugging Face tokenizer folder (tokenizer.json is required)."""
    if not (src / "tokenizer.json").is_file():
        raise FileNotFoundError(f"{src} has no tokenizer.json (a Hugging Face fast-tokenizer folder is needed)")
    dst.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def _transformers_tokenizer(hf_dir: Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(hf_dir), trust_remote_code=trust_remote_code)


def tokenizer_mismatches(hf_dir: Path, ours: TextTokenizer, texts, reference=None) -> list[str]:
    """Where ``ours`` and transformers' tokenizer for ``hf_dir`` give different ids (empty: none)."""
    try:
        reference = reference or _transformers_tokenizer(hf_dir)
    except Exception as exc:  # transformers raises many kinds here
        return [f"transformers cannot load the tokenizer of {hf_dir}: {exc}"]
    out = []
    for text in (*EDGE_TEXTS, *texts):
        want, got = reference(text)["input_ids"], ours.encode(text)
        if want != got:
            at = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))
            out.append(f"{text[:30]!r}: transformers {want[at : at + 4]}..., ours {got[at : at + 4]}... at token {at}")
    return out


def _set_add_bos(folder: Path, add_bos: bool) -> None:
    """Record in the shipped tokenizer_config.json what the manifest's prompt.add_bos will say."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if config.get("add_bos_token", True) != add_bos:
        config["add_bos_token"] = add_bos
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def export_tokenizer(hf_dir: Path, folder: Path, trust_remote_code: bool = False) -> list[str]:
    """Write tokenizer files into ``folder`` that encode as transformers does; returns what still differs.

    transformers 5 takes BOS from tokenizer.json's post-processor and ignores ``add_bos_token``, so
    whether the engine adds BOS is decided by trying both and keeping the one that matches.
    """
    copy_tokenizer(hf_dir, folder)
    reference = _transformers_tokenizer(hf_dir, trust_remote_code)
    mismatches: list[str] = []
    for candidate in ("files", "transformers"):
        if candidate == "transformers":
            log.warning(
                "[convert] tokenizer.json encodes differently from transformers (%s); shipping transformers' own",
                mismatches[0],
            )
            reference.backend_tokenizer.save(str(folder / "tokenizer.json"))
        for add_bos in (True, False):
            ours = TextTokenizer(folder / "tokenizer.json", add_bos)
            found = tokenizer_mismatches(hf_dir, ours, (), reference)
            if not found:
                _set_add_bos(folder, add_bos)
                return []
            mismatches = mismatches or found
    return mismatches
