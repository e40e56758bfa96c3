#!/usr/bin/env bash
# From a fresh clone to a running demo: install, generate demo history, serve on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "Starting the demo: the first run generates 200,000 events of history through the ingest pipeline (about a minute), then serves." >&2
echo "Another port: BELVEDERE_SERVER__PORT=8080 ./scripts/demo.sh (or ./scripts/demo.sh --port 8080)." >&2
exec .venv/bin/belvedere demo "$@"
