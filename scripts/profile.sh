#!/usr/bin/env bash
# Ports and folders of a profile; sourced by the other scripts. `dev` is what `make dev` runs,
# `test` what `make test` runs, `bench` what `make bench` runs. They use different Postgres and
# Temporal ports and folders; all drive the one local Ray head node a machine can hold, so they do
# not run at the same time.
case "${1:?profile}" in
  dev)
    PG_PORT=${PG_PORT:-55432}
    TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
    TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
    ;;
  test)
    PG_PORT=${PG_PORT:-55433}
    TEMPORAL_PORT=${TEMPORAL_PORT:-7243}
    TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8243}
    # The CPU stand-in engine; the tier on the real vLLM engine asks for it itself.
    export ARGUS_ENGINE=${ARGUS_ENGINE:-standin}
    ;;
  bench)
    PG_PORT=${PG_PORT:-55434}
    TEMPORAL_PORT=${TEMPORAL_PORT:-7244}
    TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8244}
    export ARGUS_ENGINE=${ARGUS_ENGINE:-standin}
    ;;
  *) echo "unknown profile $1 (dev, test or bench)" >&2; return 2 2>/dev/null || exit 2 ;;
esac
STATE_DIR="$(pwd)/.data/$1"
RAY_GCS_PORT=${RAY_GCS_PORT:-6379}
RAY_DASHBOARD_PORT=${RAY_DASHBOARD_PORT:-8265}
RAY_NUM_CPUS=${RAY_NUM_CPUS:-8}
RAY_NUM_GPUS=${RAY_NUM_GPUS:-8}
export ARGUS_ACCELERATOR_TYPE=${ARGUS_ACCELERATOR_TYPE:-H20}
export ARGUS_DATABASE_URL="postgres://argus@127.0.0.1:$PG_PORT/argus"
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
export RAY_DASHBOARD_URL="http://127.0.0.1:$RAY_DASHBOARD_PORT"
export ARGUS_STORAGE_ROOT=${ARGUS_STORAGE_ROOT:-$(pwd)/.data/storage}
export STATE_DIR PG_PORT TEMPORAL_PORT TEMPORAL_UI_PORT RAY_GCS_PORT RAY_DASHBOARD_PORT RAY_NUM_CPUS RAY_NUM_GPUS
