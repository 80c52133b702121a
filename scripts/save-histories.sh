#!/usr/bin/env bash
# Saves model workflow histories from the test profile's Temporal server as replay fixtures
# (test/fixtures/histories). Run with the test stack up after the integration tier, e.g.
#   STACK_WITHOUT_RAY=1 scripts/stack.sh up test && npx jest --selectProjects integration && scripts/save-histories.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/profile.sh test
npx tsc -p tsconfig.build.json
# QUERY picks the workflows (a Temporal visibility query), e.g. QUERY="WorkflowId = 'model-svc-...'".
node dist/worker/saveHistories.js "$TEMPORAL_ADDRESS" test/fixtures/histories "${LIMIT:-16}" "${QUERY:-WorkflowType = 'modelWorkflow'}"
