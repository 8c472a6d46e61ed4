"""Where the Hugging Face checkpoint comes from: a local folder, or a Hub id fetched with huggingface_hub.

For a Hub id only config.json and the file list are fetched first, so that the architecture, RAM
and disk checks run before gigabytes are downloaded; then ``snapshot_download`` fetches the weights
with its own progress bars (on stderr).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from . import progress

log = logging.getLogger("magicoder-export")

META_PATTERNS = ["*.json", "tokenizer*", "*.model"]
WEIGHT_SUFFIXES = (".safetensors", ".bin")


@dataclass(frozen=True)
class Source:
    name: str  # what the user typed
    config: dict
    local: Path | None  # the folder, for a local source
    patterns: tuple[str, ...] = ()  # what to download, for a Hub source
    download_bytes: int = 0


def _weight_pattern(names: list[str]) -> str | None:
    """Prefer safetensors; fall back to PyTorch .bin shards."""
    for suffix in WEIGHT_SUFFIXES:
        if any(n.endswith(suffix) for n in names):
            return f"*{suffix}"
    return None


def hub_config(repo: str, cache_dir: Path | None) -> dict:
    from huggingface_hub import hf_hub_download

    return json.loads(Path(hf_hub_download(repo, "config.json", cache_dir=cache_dir)).read_text(encoding="utf-8"))


def hub_files(repo: str) -> dict[str, int]:
    """File name -> size in bytes, from the Hub's metadata."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo, files_metadata=True)
    return {s.rfilename: s.size or 0 for s in info.siblings or []}


def hub_download(repo: str, cache_dir: Path | None, patterns: tuple[str, ...]) -> Path:
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo, cache_dir=cache_dir, allow_patterns=list(patterns)))


def is_hub_id(source: str) -> bool:
    """Shaped like a Hugging Face Hub id (owner/name) rather than a path."""
    return not source.startswith((".", "/", "~")) and source.count("/") == 1 and " " not in source


def inspect(source: str, cache_dir: Path | None = None) -> Source:
    """Read the config (and, for a Hub id, the file list) without downloading weights."""
    local = Path(source).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise FileNotFoundError(f"{local} has no config.json: a Hugging Face model folder is needed")
        if _weight_pattern([p.name for p in local.iterdir()]) is None:
            raise FileNotFoundError(f"{local} holds no *.safetensors or *.bin weights")
        return Source(source, json.loads((local / "config.json").read_text(encoding="utf-8")), local)
    if local.exists() or not is_hub_id(source):
        raise FileNotFoundError(f"{source} is neither a model folder nor a Hugging Face id (owner/name)")
    log.info("[load] reading %s's config and file list from the Hugging Face Hub", source)
    config = hub_config(source, cache_dir)
    files = hub_files(source)
    weights = _weight_pattern(list(files))
    if weights is None:
        raise FileNotFoundError(f"{source} on the Hub has no *.safetensors or *.bin weights")
    patterns = (*META_PATTERNS, weights)
    size = sum(s for n, s in files.items() if any(fnmatch(Path(n).name, p) for p in patterns))
    return Source(source, config, None, patterns, size)


def repo_blobs(repo: str, cache_dir: Path | None) -> Path:
    """Where huggingface_hub stores a model repository's files (and the parts it is downloading)."""
    from huggingface_hub import constants

    return Path(cache_dir or constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "blobs"


def fetch(source: Source, cache_dir: Path | None = None) -> Path:
    """The local folder holding the checkpoint (downloads a Hub source, resuming a partial one)."""
    if source.local is not None:
        return source.local
    log.info("[load] downloading %s (%.1f GB) from the Hugging Face Hub", source.name, source.download_bytes / 1e9)
    progress.phase("download", f"downloading {source.name} ({source.download_bytes / 1e9:.1f} GB)")
    total = source.download_bytes
    with progress.DownloadWatch(repo_blobs(source.name, cache_dir), total):
        folder = hub_download(source.name, cache_dir, source.patterns)
    progress.step("download", total, total, "bytes", f"downloaded {total / 1e9:.2f} GB")
    return folder
