#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment and installs the pinned requirements:
# requirements.txt (what the studio runs on), and with --test also requirements-test.txt.
# Used by both README commands: scripts/studio.sh, and scripts/test.sh (with --test).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating the virtual environment in $VENV ..."
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
FILES=(-r requirements.txt)
if [ "${1:-}" = "--test" ]; then
  FILES+=(-r requirements-test.txt)
fi
echo "Installing ${FILES[*]} into $VENV (the first time takes a few minutes) ..."
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${FILES[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
