"""Where the benchmarks find their inputs and put what they build and what they measure."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".cache" / "bench"  # models, checkpoints and exports the benchmarks build (git-ignored)
RESULTS = ROOT / "bench" / "results"  # the measurements: Markdown reports and the JSON beside them
SHARED_TOKENIZER = ROOT.parent / "shared" / "data" / "deepseek-coder-tokenizer"  # the real DeepSeek-Coder tokenizer
OPTIMUM_PYTHON = ROOT / ".venv-optimum" / "bin" / "python"  # optimum's own environment, when it was set up
TINY_MODEL = ROOT / "models" / "tiny"  # the demo's tiny model, which the typing storm serves
DEMO_SAMPLE = ROOT / "demo" / "sample.py"  # the file the demo edits, which the full-size run serves too


def usable_tokenizer(folder: Path | None = SHARED_TOKENIZER) -> Path | None:
    """``folder`` when it holds a tokenizer.json, else None (the exporter then trains a tokenizer)."""
    return folder if folder is not None and (folder / "tokenizer.json").is_file() else None
