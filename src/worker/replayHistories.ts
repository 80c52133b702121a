import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Replays saved workflow histories (JSON from `temporal workflow show -o json`) against the
 * current workflow code and exits non-zero on any nondeterminism. Run before deploying a new
 * worker: `node dist/worker/replayHistories.js <folder>`.
 */
async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: replayHistories <folder of history JSON files>');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length === 0) throw new Error(`no histories in ${dir}`);
  const histories = files.map((file) => ({ workflowId: file.replace(/\.json$/, ''), history: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as unknown }));
  let failed = 0;
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../workflows') }, histories)) {
    if (result.error) {
      failed += 1;
      console.log(`FAIL ${result.workflowId}: ${result.error.message}`);
    } else {
      console.log(`ok   ${result.workflowId}`);
    }
  }
  console.log(`replayed ${files.length}, failed ${failed}`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(2);
});
