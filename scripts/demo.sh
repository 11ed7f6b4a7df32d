#!/usr/bin/env bash
# The demo: set up, then stylise sample photos with every painter in checkpoints/ into demo_output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
.venv/bin/python -m scripts.demo "$@"
