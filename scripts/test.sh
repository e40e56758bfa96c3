#!/usr/bin/env bash
# Install what the tests need, start the services they use, then lint, type-check and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/services.sh
# axe-core, for the end-to-end accessibility checks (test-only; pinned in its package-lock.json).
npm ci --prefix tests/e2e/a11y --no-audit --no-fund --loglevel=error
# Other products' official Node tracking clients, pointed at Belvedere by the compatibility tests (test-only).
npm ci --prefix tests/e2e/clients --no-audit --no-fund --loglevel=error
.venv/bin/ruff check src sdk tests bench scripts
.venv/bin/ruff format --check src sdk tests bench scripts
.venv/bin/mypy
# Three pytest workers (pytest-xdist) on two cores: the suite's tests are independent (uuid-named PostgreSQL
# databases and Redis namespaces, free ports, a tmp_path each), and many wait on servers and browsers (the
# pytest phase: 16 min 32 s with three, 16 min 42 s to 16 min 55 s with two, on a slow 2-core VM). Pass -n 0 to
# run serially; arguments given here come last and win. Work stealing: a worker that runs out takes
# tests queued on the other, so the two long walks (the browser e2e, a ClickHouse property test) do not
# leave one worker idle at the end.
# The property tests run 0.7 of their examples here (hypothesis draws new ones every run): the whole run
# must stay under 20 minutes on a slow 2-core machine; PROPERTY_TESTS_SCALE=1 or 10 for a full or soak run.
export PROPERTY_TESTS_SCALE="${PROPERTY_TESTS_SCALE:-0.7}"
.venv/bin/pytest -n 3 --dist worksteal -m "not alone" --durations=15 "$@"
# Tests that time a latency target run afterwards, with the machine to themselves (exit code 5: the
# arguments selected none of them).
.venv/bin/pytest -n 0 -m alone "$@" || [ $? -eq 5 ]
