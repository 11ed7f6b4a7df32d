#!/usr/bin/env bash
# Create .venv (if missing) and install the project's requirements into it; safe to run again.
# Usage: scripts/setup.sh [requirements file]   (default: requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r "${1:-requirements.txt}"
# the project itself, editable: the painters command (.venv/bin/painters); its build chatter only on failure
log=$(mktemp)
.venv/bin/python -m pip install --quiet --no-deps -e . >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
rm -f "$log"
