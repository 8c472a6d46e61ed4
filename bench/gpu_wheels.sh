#!/usr/bin/env bash
# Wheels the GPU machine lacks (Python 3.12 there), into .whl/ (git-ignored via .git/info/exclude).
# onnxruntime-gpu is ~255 MB: it is split into 60 MB parts; carry .whl/ part by part on a warm
# machine (each device call carries at most 64 MiB), gpu_check.sh joins them.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
for spec in onnxruntime-gpu==1.31.1 onnxruntime-genai-cuda==0.18.0 cattrs==26.2.1; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "$spec"
done
for wheel in .whl/onnxruntime_gpu-*.whl; do
    split -b 60M -d "$wheel" "$wheel.part-" && rm "$wheel"
done
ls -la .whl
