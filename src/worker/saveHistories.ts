import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Saves the histories of model workflows as replay fixtures for replayHistories:
 * `node dist/worker/saveHistories.js <temporal address> <folder> [limit] [visibility query]`.
 * Each run is saved on its own (a workflow that continued as new has several), in a file named
 * by its workflow id and, for runs that are not a workflow's first, the start of its run id.
 * Stack traces in failures name the checkout's folder; that prefix is replaced by /repo.
 */
async function main() {
  const [address, dir, limit = '20', query = "WorkflowType = 'modelWorkflow'"] = process.argv.slice(2);
  if (!address || !dir) throw new Error('usage: saveHistories <temporal address> <folder> [limit] [visibility query]');
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  mkdirSync(dir, { recursive: true });
  const root = path.resolve(__dirname, '..', '..');
  let saved = 0;
  for await (const execution of client.workflow.list({ query })) {
    if (saved >= Number(limit)) break;
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const continued = Boolean(history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId);
    const name = continued ? `${execution.workflowId}-run-${execution.runId.slice(0, 8)}` : execution.workflowId;
    writeFileSync(path.join(dir, `${name}.json`), historyToJSON(history).split(root).join('/repo'));
    saved += 1;
  }
  console.log(`saved ${saved} histories to ${dir}`);
  await connection.close();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
