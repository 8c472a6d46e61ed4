#!/usr/bin/env bash
# Wheels the GPU machine lacks (Python 3.12 there), into .whl/ (git-ignored), and the folders to carry
# them in, one device call each (a call carries at most 64 MiB): bench/GPU_NOTES.md gives the calls.
#   .gpu/c1  genai-cuda and cattrs wheels, the last part of onnxruntime-gpu, the DeepSeek tokenizer
#   .gpu/pN  one 60 MB part of onnxruntime-gpu (~255 MB) each; gpu_check.sh joins the parts
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
for spec in onnxruntime-gpu==1.31.1 onnxruntime-genai-cuda==0.18.0 cattrs==26.2.1; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "$spec"
done
for wheel in .whl/onnxruntime_gpu-*.whl; do
    [ -f "$wheel" ] && split -b 60M -d "$wheel" "$wheel.part-" && rm "$wheel"
done
rm -rf .gpu && mkdir -p .gpu/c1/tokenizer
parts=(.whl/onnxruntime_gpu-*.part-*)
cp .whl/onnxruntime_genai_cuda-*.whl .whl/cattrs-*.whl "${parts[-1]}" .gpu/c1/
tokenizer=$(python3 -c 'from bench.lib.paths import SHARED_TOKENIZER; print(SHARED_TOKENIZER)')
[ -d "$tokenizer" ] && cp "$tokenizer"/*.json .gpu/c1/tokenizer/
for i in "${!parts[@]}"; do
    if [ "$i" -lt $((${#parts[@]} - 1)) ]; then mkdir -p ".gpu/p$i" && cp "${parts[$i]}" ".gpu/p$i/"; fi
done
du -sh .gpu/*
