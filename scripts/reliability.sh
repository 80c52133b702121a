#!/usr/bin/env bash
# `make reliability`: the reliability and security scenarios at full scale against the real
# services of the test profile, then results/latest.json and docs/reliability.md from the figures.
# (`make test` runs the same scenarios at a short scale.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
source scripts/profile.sh test

if curl -fsS "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" >/dev/null 2>&1 && [ -f .data/dev/temporal.pid ] && kill -0 "$(cat .data/dev/temporal.pid)" 2>/dev/null; then
  echo "make dev is running; stop it before make reliability" >&2
  exit 1
fi

# Most scenarios inject faults into a Ray double; the drift scenarios (driftOnRay) restart and
# break a real Ray node, so the test profile's Ray head is started too.
trap 'scripts/stack.sh down test' EXIT
scripts/stack.sh down test
scripts/stack.sh clean test
rm -rf reliability/results/parts
echo "==> starting PostgreSQL, Temporal and Ray (logs in .data/test)"
scripts/stack.sh up test

export RELIABILITY_SCALE=full LOG_LEVEL=${LOG_LEVEL:-error}
status=0
# --forceExit: a scenario that kills and restarts services can leave a socket open; results are in by then.
npx jest --ci --forceExit --selectProjects reliability "$@" || status=$?
npx tsx reliability/report.ts
exit "$status"
