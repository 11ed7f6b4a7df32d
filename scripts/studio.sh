#!/usr/bin/env bash
# The studio: set up .venv (with Gradio) if needed, then serve the page on http://127.0.0.1:7860.
# Options go to python -m studio (--host, --port, --output, --device …; see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] && .venv/bin/python -c "import gradio" 2>/dev/null || bash scripts/setup.sh requirements-studio.txt
exec .venv/bin/python -m studio "$@"
