#!/usr/bin/env bash
# The README's test command: installs everything the tests need, then runs the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/core -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's chromium for the browser tests ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The outbound-traffic test watches the launched app's sockets with strace.
if ! command -v strace >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing strace for the outbound-traffic test ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
fi
# The database tests also run on a real PostgreSQL server that the test run starts itself
# (tests/postgres_server.py); STUDIO_TEST_POSTGRES=required makes its absence a failure.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null \
  && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "Installing Debian's postgresql for the database tests ..."
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
    || echo "WARNING: postgresql could not be installed; the PostgreSQL tests will be skipped." >&2
fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then
  export STUDIO_TEST_POSTGRES="${STUDIO_TEST_POSTGRES:-required}"
fi
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False TOKENIZERS_PARALLELISM=false
# pytest exits 5 when it collected no test; like every non-zero code that fails this script.
exec "$VENV/bin/python" -m pytest "$@"
