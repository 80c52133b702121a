#!/usr/bin/env bash
# `make bench` and `make bench-smoke` (pass --smoke): install what is missing, start PostgreSQL and
# the Temporal dev server of the bench profile with fresh state, and a local Ray head node for F5
# (reusing one that already answers), run bench/main.ts, stop what this script started.
# BENCH_WITHOUT_RAY=1 leaves Ray alone and skips F5. Extra arguments go to bench/main.ts
# (e.g. --only=f1,f3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
source scripts/profile.sh bench

started_ray=0
if [ "${BENCH_WITHOUT_RAY:-}" != 1 ] && ! curl -fsS "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" >/dev/null 2>&1; then
  started_ray=1
fi
stop_services() {
  if [ "$started_ray" = 1 ]; then scripts/stack.sh down bench; else STACK_WITHOUT_RAY=1 scripts/stack.sh down bench; fi
}
trap stop_services EXIT

# Fresh database and Temporal history for every run.
STACK_WITHOUT_RAY=1 scripts/stack.sh down bench
rm -rf "$STATE_DIR"
echo "==> starting PostgreSQL, Temporal$([ "${BENCH_WITHOUT_RAY:-}" = 1 ] || echo ' and Ray') for benchmarks (logs in .data/bench)"
if [ "${BENCH_WITHOUT_RAY:-}" = 1 ]; then STACK_WITHOUT_RAY=1 scripts/stack.sh up bench; else STACK_WITHOUT_RAY= scripts/stack.sh up bench; fi

export LOG_LEVEL=${LOG_LEVEL:-error}
node --import tsx bench/main.ts "$@"
