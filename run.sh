#!/usr/bin/env bash
# Set up (first time only) and start Streamlet Lab; arguments go to run.py.
# With no arguments: the dashboard on http://127.0.0.1:5000 with 5 nodes.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python run.py "$@"
