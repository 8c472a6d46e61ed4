"""`--exporter optimum`: optimum-onnx's export, run in its own environment as a subprocess.

optimum-onnx 0.1.0 requires transformers<4.58 and this project's exporter transformers 5, so the
conversion runs in a second virtual environment (scripts/setup-optimum.sh creates .venv-optimum with
the known-good set: transformers 4.57.6, optimum 2.1.0, optimum-onnx 0.1.0, tokenizers 0.22.2, torch
2.13.0) and everything else (tokenizer, manifest, parity gate against transformers 5) runs here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("optimum_export.py")
REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "MAGICODER_OPTIMUM_PYTHON"
SETUP_HINT = (
    "the optimum exporter runs in its own Python environment (optimum-onnx needs transformers<4.58): "
    "create it with `bash scripts/setup-optimum.sh` in a magicoder-lsp checkout (.venv-optimum), or "
    "`pip install torch==2.13.0 transformers==4.57.6 tokenizers==0.22.2 optimum==2.1.0 optimum-onnx==0.1.0 "
    "onnx onnxruntime` into any venv, and pass its interpreter with --optimum-python or $" + ENV_VAR
)


class OptimumError(RuntimeError):
    """The optimum environment is missing or its export failed."""


def find_python(explicit: Path | None = None) -> Path:
    """--optimum-python, else $MAGICODER_OPTIMUM_PYTHON, else .venv-optimum in the checkout."""
    candidates = [explicit] if explicit else []
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    candidates.append(REPO_ROOT / ".venv-optimum" / "bin" / "python")
    for path in candidates:
        if path and Path(path).expanduser().is_file():
            return Path(path).expanduser()
    raise OptimumError(f"no optimum environment found (looked at {', '.join(map(str, candidates))}): {SETUP_HINT}")


def run_optimum(hf_dir: Path, out_dir: Path, python: Path, trust_remote_code: bool = False) -> Path:
    """Export ``hf_dir`` into ``out_dir`` (model.onnx, concat KV layout); its progress goes to stderr."""
    cmd = [str(python), str(CHILD), str(hf_dir), str(out_dir)]
    if trust_remote_code:
        cmd.append("--trust-remote-code")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            sys.stderr.write(line)
            tail = ([*tail, line.rstrip()])[-8:]
    if proc.returncode != 0:
        raise OptimumError(f"the optimum export failed (exit {proc.returncode}) in {python}:\n  " + "\n  ".join(tail))
    # optimum also writes the config and tokenizer as transformers 4.57 saves them: ours replace them.
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"):
        (out_dir / name).unlink(missing_ok=True)
    return out_dir
