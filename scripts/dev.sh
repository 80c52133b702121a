#!/usr/bin/env bash
# `make dev`: install what is missing, start Postgres, Temporal, Ray, migrate, then the worker
# and the API in the foreground. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
source scripts/profile.sh dev

cleanup() {
  trap - INT TERM EXIT
  stopping=1
  echo; echo "==> stopping"
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null || true
  [ -n "${worker_pid:-}" ] && kill "$worker_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/stack.sh down dev
}
trap cleanup INT TERM EXIT

echo "==> starting PostgreSQL, Temporal and Ray (logs in .data/dev)"
scripts/stack.sh up dev

# The bootstrap admin token: ARGUS_ADMIN_TOKEN if set, else one generated once and kept.
if [ -z "${ARGUS_ADMIN_TOKEN:-}" ]; then
  token_file=.data/dev/admin-token
  [ -s "$token_file" ] || (umask 077; node -e "console.log('admin_' + require('crypto').randomBytes(24).toString('base64url'))" >"$token_file")
  ARGUS_ADMIN_TOKEN=$(cat "$token_file")
fi
export ARGUS_ADMIN_TOKEN

ARGUS_WORKER_METRICS_PORT=${ARGUS_WORKER_METRICS_PORT:-9464} node dist/worker/main.js >>.data/dev/worker.log 2>&1 &
worker_pid=$!
node dist/api/main.js >>.data/dev/api.log 2>&1 &
api_pid=$!
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:${API_PORT:-8080}/healthz" >/dev/null 2>&1 && break; sleep 0.25; done

cat <<MSG

  Console        http://127.0.0.1:${API_PORT:-8080}/console/   (sign in with a token)
  API            http://127.0.0.1:${API_PORT:-8080}     (healthz: /healthz, metrics: /metrics)
  Worker metrics http://127.0.0.1:${ARGUS_WORKER_METRICS_PORT:-9464}/metrics
  Temporal UI    http://127.0.0.1:$TEMPORAL_UI_PORT
  Ray dashboard  $RAY_DASHBOARD_URL
  OpenAI ingress http://127.0.0.1:8000/v1
  Admin token    $ARGUS_ADMIN_TOKEN

  Logs: .data/dev/{api,worker,temporal}.log   Ctrl-C stops everything.
MSG
wait -n "$worker_pid" "$api_pid" || true
[ -n "${stopping:-}" ] || echo "the API or the worker exited; see .data/dev/api.log and .data/dev/worker.log" >&2
