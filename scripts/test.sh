#!/usr/bin/env bash
# `make test`: install what is missing, start the real services of the test profile, run every
# tier (unit, integration against real Temporal + Postgres, end-to-end against real Ray, and the
# Python ingress against real Serve), stop.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --browser
source scripts/profile.sh test

if curl -fsS "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" >/dev/null 2>&1 && [ -f .data/dev/temporal.pid ] && kill -0 "$(cat .data/dev/temporal.pid)" 2>/dev/null; then
  echo "make dev is running and holds the local Ray node; stop it before make test" >&2
  exit 1
fi

# Type-check everything, the benchmark harness included (no test tier imports it).
echo "==> tsc --noEmit (project and bench)"
npx tsc -p tsconfig.json --noEmit
npx tsc -p bench/tsconfig.json --noEmit

trap 'scripts/stack.sh down test' EXIT
# Start from a clean slate: a fresh database and Temporal history for every run.
scripts/stack.sh down test
scripts/stack.sh clean test
echo "==> starting PostgreSQL, Temporal and Ray for tests (logs in .data/test)"
scripts/stack.sh up test

# Tests provoke failures on purpose; their warnings would drown the results.
export LOG_LEVEL=${LOG_LEVEL:-error}
export ARGUS_TEST_PYTHON="$(pwd)/.venv/bin/python"
export ARGUS_TEMPORAL_UI_PORT=$TEMPORAL_UI_PORT
status=0
# --forceExit: something a test left open must not hold the run until CI's time limit; Jest's
# global teardown (test/support/leftoverHandles.ts) names it first and kills leftover processes.
npx jest --ci --forceExit --json --outputFile="$STATE_DIR/jest-results.json" "$@" || status=$?

# The Python side: the ingress and builders Ray nodes import (python/argus_serve), unit tests and
# tests against the real Serve instance started above. Skipped when jest was given a filter.
pytest_status=0
if [ "$#" -eq 0 ]; then
  echo "==> pytest python/tests (argus_serve against the real Serve instance)"
  .venv/bin/python -m pytest python/tests -q -p no:cacheprovider --junitxml="$STATE_DIR/pytest-results.xml" || pytest_status=$?
  [ "$pytest_status" -eq 0 ] || status=$pytest_status
fi
# One plain closing line for CI logs, counted from Jest's and pytest's own results.
node -e '
const r = require(process.argv[1]);
let passed = r.numPassedTests, failed = r.numFailedTests, skipped = r.numPendingTests;
const fs = require("fs");
if (fs.existsSync(process.argv[2])) {
  const xml = fs.readFileSync(process.argv[2], "utf8");
  const attr = (name) => Number((new RegExp(`<testsuite [^>]*${name}="(\\d+)"`).exec(xml) || [])[1] || 0);
  const tests = attr("tests"), failures = attr("failures") + attr("errors"), skips = attr("skipped");
  passed += tests - failures - skips; failed += failures; skipped += skips;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped; ${r.numRuntimeErrorTestSuites} test files failed to run`);
' "$STATE_DIR/jest-results.json" "$STATE_DIR/pytest-results.xml" || true
exit "$status"
