#!/usr/bin/env bash
# Create .venv and install magicoder-lsp with everything the demo and the tests need (CPU).
# Idempotent: reinstalls only when pyproject.toml changed since the last successful install.
# llama-cpp-python (the tests' OpenAI-compatible server) is published as source only: it is built once into a
# wheel cache outside the checkout (MAGICODER_WHEEL_CACHE, default ~/.cache/magicoder-lsp/wheels) and every
# later setup installs that wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.magicoder-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    wheels=${MAGICODER_WHEEL_CACHE:-$HOME/.cache/magicoder-lsp/wheels}
    mkdir -p "$wheels"
    # The version pyproject.toml pins (none: nothing to build).
    llama_version=$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9][0-9.]*\)".*/\1/p' pyproject.toml | head -n 1)
    if [ -n "$llama_version" ] \
        && ! compgen -G "$wheels/llama_cpp_python-$llama_version-*$(uname -m).whl" > /dev/null; then
        echo "building llama-cpp-python once (about 10 minutes) into $wheels"
        # Portable (no -march=native: the cache may serve another CPU) and without the multimodal library.
        CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" .venv/bin/python -m pip wheel --quiet \
            --disable-pip-version-check --no-cache-dir --no-deps "llama-cpp-python==$llama_version" -w "$wheels"
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --find-links "$wheels" -e '.[test]'
    echo "$want" > "$stamp"
fi
