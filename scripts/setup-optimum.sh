#!/usr/bin/env bash
# Create .venv-optimum: the second environment that `magicoder-export build --exporter optimum` runs
# optimum-onnx in. optimum-onnx 0.1.0 needs transformers<4.58, the main .venv has transformers 5, so
# they cannot share one environment. Idempotent: installs only when the pins below changed.
#   OPTIMUM_VENV=DIR   where to create it (default: .venv-optimum in the repository root)
#   PYTHON=python3.X   the interpreter to create it with
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${OPTIMUM_VENV:-.venv-optimum}
# The known-good set (see the README, "The optimum exporter").
PINS=(
    "torch==2.13.0"
    "transformers==4.57.6"
    "tokenizers==0.22.2"
    "optimum==2.1.0"
    "optimum-onnx==0.1.0"
    "onnx==1.23.2"
    "onnxruntime==1.32.0"
    "safetensors==0.8.0"
)
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.magicoder-optimum-installed"
want=$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
    "$VENV/bin/python" -c "import optimum.exporters.onnx, transformers; print('optimum venv ready: transformers', transformers.__version__)"
    echo "$want" > "$stamp"
fi
