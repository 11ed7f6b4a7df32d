#!/usr/bin/env bash
# The tests: set up (with pytest, ruff and the studio's browser driver), lint, then run the test suite on the
# CPU. The tests read real data from ../shared (or $STYLE_SHARED); the studio's tests drive Debian's Chromium,
# installed here when missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
if ! command -v chromium >/dev/null; then
    sudo=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
.venv/bin/python -m ruff check .
.venv/bin/python -m pytest "$@"
