#!/usr/bin/env bash
# Saves model workflow histories from the test profile's Temporal server as replay fixtures
# (test/fixtures/histories). Run with the test stack up after the integration tier, e.g.
#   STACK_WITHOUT_RAY=1 scripts/stack.sh up test && npx jest --selectProjects integration && scripts/save-histories.sh
# Runs of a workflow that continued as new come from the continue-as-new test, which normally
# starts a server of its own; to save them, start one that stays, point the test at it, save:
#   .venv/bin/temporal server start-dev --headless --port 7299 \
#     --search-attribute ArgusUserId=Keyword --search-attribute ArgusModelId=Keyword \
#     --search-attribute ArgusModelState=Keyword \
#     --dynamic-config-value limit.historyCount.suggestContinueAsNew=300 &
#   ARGUS_CAN_TEMPORAL_ADDRESS=127.0.0.1:7299 npx jest --selectProjects integration --testPathPatterns continueAsNew
#   TEMPORAL_PORT=7299 LIMIT=3 scripts/save-histories.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/profile.sh test
npx tsc -p tsconfig.build.json
# QUERY picks the workflows (a Temporal visibility query), e.g. QUERY="WorkflowId = 'model-svc-...'".
node dist/worker/saveHistories.js "$TEMPORAL_ADDRESS" test/fixtures/histories "${LIMIT:-16}" "${QUERY:-WorkflowType = 'modelWorkflow'}"
