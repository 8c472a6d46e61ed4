#!/usr/bin/env bash
# The demo: set up, build the tiny model if missing, run a real LSP session against magicoder-lsp.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m demo.run_demo "$@"
