#!/usr/bin/env bash
# The README's test command: installs everything the tests need, then runs the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/core -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False TOKENIZERS_PARALLELISM=false
# pytest exits 5 when it collected no test; like every non-zero code that fails this script.
exec "$VENV/bin/python" -m pytest "$@"
