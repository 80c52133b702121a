#!/usr/bin/env bash
# `make bench` and `make bench-smoke` (pass --smoke): install what is missing, start PostgreSQL and
# the Temporal dev server of the bench profile with fresh state, run bench/main.ts, stop what this
# script started. F5 and then F6 run first, on a local Ray head node (one that already answers is
# reused and left running; one started here is stopped before F1-F4, so it does not weigh on their
# figures). BENCH_WITHOUT_RAY=1 leaves Ray alone and skips F5 and F6. Extra arguments go to
# bench/main.ts; with --only=... the named benchmarks run in one go (e.g. --only=f1,f3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
# Every stand-in replica reserves one logical GPU, as a real model does: F6 holds 20 models in the
# product's layout and 20 in Ray's stock layout at once. (A node that is reused keeps its own count.)
export RAY_NUM_GPUS=${RAY_NUM_GPUS:-48}
source scripts/profile.sh bench

started_ray=0
ray_answers() { curl -fsS "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" >/dev/null 2>&1; }
stop_ray_if_ours() {
  if [ "$started_ray" = 1 ]; then
    .venv/bin/ray stop --force >/dev/null 2>&1 || true
    started_ray=0
  fi
}
trap 'stop_ray_if_ours; STACK_WITHOUT_RAY=1 scripts/stack.sh down bench' EXIT

# Fresh database and Temporal history for every run.
STACK_WITHOUT_RAY=1 scripts/stack.sh down bench
rm -rf "$STATE_DIR"
echo "==> starting PostgreSQL and Temporal for benchmarks (logs in .data/bench)"
STACK_WITHOUT_RAY=1 scripts/stack.sh up bench

export LOG_LEVEL=${LOG_LEVEL:-error}
if printf '%s\n' "$@" | grep -q '^--only='; then
  [ "${BENCH_WITHOUT_RAY:-}" = 1 ] || ray_answers || { started_ray=1; STACK_WITHOUT_RAY= scripts/stack.sh up bench; }
  node --import tsx bench/main.ts "$@"
  exit
fi
status=0
if [ "${BENCH_WITHOUT_RAY:-}" != 1 ]; then
  ray_answers || started_ray=1
  echo "==> $([ "$started_ray" = 1 ] && echo starting || echo reusing) a local Ray node for F5 and F6"
  STACK_WITHOUT_RAY= scripts/stack.sh up bench # seeds the stand-in's model files; reuses a running node
  node --import tsx bench/main.ts --only=f5,f6 "$@" || status=$?
  stop_ray_if_ours
fi
# Without Ray, f5 and f6 are named too so the results say why they are missing.
node --import tsx bench/main.ts "--only=f1,f2,f3,f4$([ "${BENCH_WITHOUT_RAY:-}" = 1 ] && echo ,f5,f6)" "$@" || status=$?
exit "$status"
