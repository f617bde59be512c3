#!/usr/bin/env bash
# Set up (first time only) and run every test: pytest, then the page's model
# tests with node --test. Browser tests need Debian's chromium; as root this
# script installs it when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh dev
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is not installed: browser tests will be skipped" >&2
    fi
fi
js_tests=$(find tests frontend -name '*.test.mjs' 2>/dev/null | sort)
if [ -n "$js_tests" ]; then
    node --test $js_tests
fi
.venv/bin/python -m pytest -q "$@"
