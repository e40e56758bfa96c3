#!/usr/bin/env bash
# From a fresh clone to a running demo: install, generate demo history, serve on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/belvedere demo "$@"
