#!/usr/bin/env bash
# The README's launch command: installs the studio, then starts it on the embedded default bundle.
# Extra arguments go to app.py (e.g. --data-dir DIR, --auth user:password).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec "$VENV/bin/python" app.py "$@"
