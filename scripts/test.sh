#!/usr/bin/env bash
# The tests: set up (with pytest and ruff), lint, then run the test suite on the CPU.
# The tests read real data from ../shared (or $STYLE_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
.venv/bin/python -m ruff check .
.venv/bin/python -m pytest "$@"
