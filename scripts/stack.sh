#!/usr/bin/env bash
# Starts or stops the real services one profile needs: PostgreSQL, the Temporal dev server and a
# local Ray head node. Usage: scripts/stack.sh up|down|clean|stop-postgres|start-postgres|stop-temporal|start-temporal dev|test|bench
# Ports and folders come from the profile; every folder is under the ignored .data/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
action=${1:?usage: stack.sh up|down|clean|stop-postgres|start-postgres|stop-temporal|start-temporal dev|test|bench}
profile=${2:?usage: stack.sh up|down|clean dev|test|bench}
# shellcheck source=scripts/profile.sh
source scripts/profile.sh "$profile"

PG_BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n1 || command -v postgres)")
# PostgreSQL refuses to run as root; on a root shell it runs as the postgres system user.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

wait_for() { # wait_for <seconds> <description> <command...>
  local limit=$1 what=$2; shift 2
  for _ in $(seq 1 "$((limit * 4))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "$what did not come up within ${limit}s (logs in $STATE_DIR)" >&2
  return 1
}

# Where the Postgres data lives: under the profile's state folder, unless the server (which runs
# as the postgres user on a root shell) cannot reach that folder, as in a clone inside a private
# (0700) directory; then in a folder of its own under $TMPDIR, named after this checkout.
pg_data_dir() {
  if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    echo "$STATE_DIR/postgres"
  else
    echo "${TMPDIR:-/tmp}/argus-postgres-$(printf %s "$STATE_DIR" | cksum | cut -d' ' -f1)"
  fi
}

postgres_up() {
  local data
  data=$(pg_data_dir)
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" -ne 0 ] || chown -R postgres: "$data"
    as_pg "$PG_BIN/initdb" -D "$data" -U argus --auth=trust -E UTF8 >/dev/null
  fi
  [ "$(id -u)" -ne 0 ] || chown postgres: "$STATE_DIR"
  if ! as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off" start >/dev/null
  fi
  wait_for 30 PostgreSQL "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  psql -h 127.0.0.1 -p "$PG_PORT" -U argus -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='argus'" | grep -q 1 ||
    psql -h 127.0.0.1 -p "$PG_PORT" -U argus -d postgres -qc "CREATE DATABASE argus" >/dev/null
}

postgres_down() {
  local data
  data=$(pg_data_dir)
  [ -f "$data/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

temporal_up() {
  local pidfile="$STATE_DIR/temporal.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  # The server settings production uses too (config/temporal-dynamic-config.yaml).
  # (Assigned first: a failure inside `< <(...)` would not stop the script, and the server would
  # start without them.)
  local flags dynamic_config
  flags=$(node scripts/temporal-dynamic-config-flags.js)
  mapfile -t dynamic_config <<<"$flags"
  # A persistent database file keeps workflows across restarts of the dev server. In SQLite's
  # default journal mode every history write waited for its own fsync, which capped a storm of
  # rollouts (100 workflows of five activities: 7.8 s; with WAL 3.1 s, in memory 2.6 s). WAL with
  # synchronous=normal survives a crash of the server; only a power cut can lose the last writes.
  nohup "$ROOT/.venv/bin/temporal" server start-dev \
    --db-filename "$STATE_DIR/temporal.db" --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --namespace default --log-level error "${dynamic_config[@]}" \
    --search-attribute ArgusUserId=Keyword --search-attribute ArgusModelId=Keyword --search-attribute ArgusModelState=Keyword \
    >"$STATE_DIR/temporal.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for 60 "Temporal dev server" "$ROOT/.venv/bin/temporal" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"
}

temporal_down() {
  local pidfile="$STATE_DIR/temporal.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.25; done
    rm -f "$pidfile"
  fi
}

ray_up() {
  .venv/bin/python python/tools/seed_models.py "$ARGUS_STORAGE_ROOT" .venv/demo-models
  if curl -fsS "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/version" >/dev/null 2>&1; then
    echo "reusing the Ray node already answering on :$RAY_DASHBOARD_PORT" >&2
    return 0
  fi
  # Logical GPUs and the accelerator type are declared to the scheduler so GPU requests are
  # placed and bounded as on a GPU cluster. python/ is on the node's PYTHONPATH: the ingress and
  # builders (argus_serve) and the CPU stand-in server (argus_standin), whose replicas import
  # Ray Serve LLM through python/shims instead of vLLM (dev and tests only).
  # What vLLM's CPU build needs on every replica, set here because replicas inherit the node's
  # environment: no hub (a path that looks like a repo id would otherwise be looked up), its
  # caches inside the profile's folder, no usage reports. Every replica start leaves an idle Ray
  # worker that imported vLLM (about 1 GB each) up to the soft limit, by default --num-cpus.
  ray_node_env "$ROOT/.venv/bin/ray" start --head --port "$RAY_GCS_PORT" \
    --dashboard-host 127.0.0.1 --dashboard-port "$RAY_DASHBOARD_PORT" \
    --num-cpus "$RAY_NUM_CPUS" --num-gpus "$RAY_NUM_GPUS" \
    --resources "{\"accelerator_type:$ARGUS_ACCELERATOR_TYPE\": $RAY_NUM_GPUS}" \
    --disable-usage-stats >"$STATE_DIR/ray-start.log" 2>&1
  wait_for 90 "Ray dashboard" curl -fsS "http://127.0.0.1:$RAY_DASHBOARD_PORT/api/serve/applications/"
}

# Runs a command with the environment every Ray node of this checkout gets (see ray_up).
ray_node_env() {
  local cache="$STATE_DIR/engine-cache"
  mkdir -p "$cache"
  PYTHONPATH="$ROOT/python:$ROOT/python/shims" RAY_USAGE_STATS_ENABLED=0 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HOME="$cache/hf" XDG_CACHE_HOME="$cache" \
    VLLM_CACHE_ROOT="$cache/vllm" TORCHINDUCTOR_CACHE_DIR="$cache/inductor" \
    VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1 RAY_num_workers_soft_limit=${RAY_WORKERS_SOFT_LIMIT:-2} \
    "$@"
}

# A second Ray node on this machine, for scenarios that lose a node: a raylet joining the head
# with GPUs of its own (SECOND_NODE_GPUS, default 2) and a resource naming it, so a test can
# tell its replicas apart. Its agents take ports of their own beside the head's.
SECOND_NODE_RESOURCE=argus_second_node
SECOND_NODE_METRICS_PORT=${SECOND_NODE_METRICS_PORT:-52467}
second_node_up() {
  local gpus=${SECOND_NODE_GPUS:-2}
  ray_node_env "$ROOT/.venv/bin/ray" start --address "127.0.0.1:$RAY_GCS_PORT" \
    --num-cpus 2 --num-gpus "$gpus" \
    --resources "{\"accelerator_type:$ARGUS_ACCELERATOR_TYPE\": $gpus, \"$SECOND_NODE_RESOURCE\": 1}" \
    --dashboard-agent-listen-port $((SECOND_NODE_METRICS_PORT - 1)) --metrics-export-port "$SECOND_NODE_METRICS_PORT" \
    --runtime-env-agent-port $((SECOND_NODE_METRICS_PORT + 1)) \
    --disable-usage-stats >"$STATE_DIR/ray-second-node.log" 2>&1
}
# The second node dies as a machine would: its raylet and everything it started, killed at once.
second_node_kill() {
  local raylet
  raylet=$(pgrep -f "raylet/raylet.*--metrics_export_port=$SECOND_NODE_METRICS_PORT" || true)
  [ -n "$raylet" ] || { echo "no second Ray node is running" >&2; return 0; }
  local children
  children=$(pgrep -P "$raylet" || true)
  # Its workers (replicas) are the raylet's grandchildren at times: take the whole tree.
  local all="$raylet $children"
  for child in $children; do all="$all $(pgrep -P "$child" || true)"; done
  kill -9 $all 2>/dev/null || true
}

ray_down() {
  "$ROOT/.venv/bin/ray" stop --force >/dev/null 2>&1 || true
  kill_orphaned_engines
}

# vLLM's EngineCore and Worker processes are children of a replica actor, not Ray workers:
# `ray stop` kills the replica and leaves them running (about 2 GB each model). Those of this
# checkout (their environment names its .venv) whose replica is gone are stopped here.
kill_orphaned_engines() {
  local pid
  for _ in 1 2; do # a Worker is orphaned only once its EngineCore is gone
    for pid in $(pgrep -f '^VLLM::' || true); do
      [ "$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)" = 1 ] || continue
      grep -qzF "$ROOT/.venv/" "/proc/$pid/environ" 2>/dev/null || continue
      kill -9 "$pid" 2>/dev/null || true
    done
    sleep 0.5
  done
}

mkdir -p "$STATE_DIR"
case "$action" in
  up)
    # STACK_WITHOUT_RAY=1 starts only Postgres and Temporal (tiers that use the Ray double).
    postgres_up
    temporal_up
    [ "${STACK_WITHOUT_RAY:-}" = 1 ] || ray_up
    npx node-pg-migrate up -m migrations --migration-file-language sql -d ARGUS_DATABASE_URL >"$STATE_DIR/migrate.log" 2>&1 ||
      { cat "$STATE_DIR/migrate.log" >&2; exit 1; }
    ;;
  down)
    [ "${STACK_WITHOUT_RAY:-}" = 1 ] || ray_down
    temporal_down
    postgres_down
    ;;
  # Single services, for the reliability scenarios that restart one in the middle of rollouts.
  # Everything the profile keeps between runs: state folder and Postgres data.
  clean) postgres_down; rm -rf "$STATE_DIR" "$(pg_data_dir)" ;;
  stop-postgres) postgres_down ;;
  start-postgres) postgres_up ;;
  stop-temporal) temporal_down ;;
  start-temporal) temporal_up ;;
  stop-ray) ray_down ;;
  start-ray) ray_up ;;
  add-node) second_node_up ;;
  kill-node) second_node_kill ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
