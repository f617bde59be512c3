#!/usr/bin/env bash
# Create .venv and install the pinned requirements (quick when already done).
# Usage: scripts/setup.sh [dev]   -- "dev" adds the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
want=requirements.txt
[ "${1:-}" = dev ] && want=requirements-dev.txt
stamp=".venv/.installed-$(basename "$want" .txt)"
if [ ! -f "$stamp" ] || [ "$want" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$want"
    touch "$stamp"
fi
