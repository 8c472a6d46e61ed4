#!/usr/bin/env bash
# GPU check, one command on a CUDA machine (the device tool's H100/H200), well under 10 minutes:
#   bash bench/gpu_check.sh [--prebuild] [bench.gpu_check options]
# Run in the repository root; results go to $OUT (or ./.cache/gpu): gpu_results.json, GPU_RESULTS.md.
#
# That machine has python3 with torch (CUDA 13), transformers, onnx and onnx-ir, but no
# onnxruntime-gpu, onnxruntime-genai-cuda or cattrs, and no network: bring the wheels first, from
# this machine, with `bash bench/gpu_wheels.sh` (cp312 wheels into .whl/, the 255 MB one in parts)
# and carry them, each call at most 64 MiB, into $WHEELS there (default .whl); this joins the parts.
#
# --prebuild builds the random-weight Hugging Face models only, so it can run (under setsid) while
# the onnxruntime-gpu parts are still being carried; a later full run waits for it, reuses them and
# exports with onnxruntime-gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.cache/gpu}
wheels=${WHEELS:-.whl}
site=/tmp/site
mkdir -p "$out"
if [ "${1:-}" = "--prebuild" ]; then
    site=""  # the Hugging Face models need only the image's torch, transformers and tokenizers
else
    for stem in $(ls "$wheels"/*.part-* 2>/dev/null | sed 's/\.part-.*//' | sort -u); do
        cat "$stem".part-* > "$stem" && rm "$stem".part-*
    done
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$wheels"/*.whl
    while [ -f /tmp/prebuild.pid ] && kill -0 "$(cat /tmp/prebuild.pid)" 2>/dev/null; do
        echo "[gpu-check] waiting for the prebuild: $(tail -c 300 /tmp/prebuild.log | tr '\r\n' '  ' | tail -c 160)"; sleep 10
    done
fi
# CUDA 13 and cuDNN 9 come from the nvidia-* packages beside torch: onnxruntime's CUDA provider
# and genai's CUDA library load them by name.
nvlibs=$(python3 -c '
import glob, os, site
dirs = {os.path.dirname(p) for sp in site.getsitepackages() for p in glob.glob(os.path.join(sp, "nvidia", "**", "lib*.so*"), recursive=True)}
print(":".join(sorted(dirs)))')
export LD_LIBRARY_PATH=$nvlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PYTHONPATH=${site:+$site:}$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt" || true
python3 -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.get_available_providers())"
python3 -m bench.gpu_check --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
