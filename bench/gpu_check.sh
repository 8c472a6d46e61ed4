#!/usr/bin/env bash
# GPU check, one command on a CUDA machine (the device tool's H100/H200), well under 10 minutes:
#   bash bench/gpu_check.sh            (run in the repository root; results go to $OUT or ./.cache/gpu)
#
# That machine has python3 with torch, transformers, onnx and onnx-ir, but no onnxruntime-gpu,
# onnxruntime-genai-cuda or cattrs, and no network: bring the wheels first, from this machine:
#   bash bench/gpu_wheels.sh           (downloads cp312 wheels into .whl/, splits the big one in parts)
# and carry them: .whl/ travels in parts of < 64 MiB (see bench/gpu_wheels.sh), joined here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.cache/gpu}
if ls .whl/*.part-* >/dev/null 2>&1; then
    for stem in $(ls .whl/*.part-* | sed 's/\.part-.*//' | sort -u); do cat "$stem".part-* > "$stem"; done
fi
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out.gpu.txt" || true
python3 -c "import onnxruntime as o; print(o.__version__, o.get_available_providers())"
python3 -m bench.gpu_check --out "$out" "$@"
