import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const STACK = path.join(__dirname, '..', '..', 'scripts', 'stack.sh');

/**
 * Stops and starts one service of the test stack (the ports and folders scripts/test.sh
 * exported), for scenarios that restart it in the middle of rollouts; adds and kills a second
 * Ray node beside the head.
 */
export async function stackAction(
  action: 'stop-postgres' | 'start-postgres' | 'stop-temporal' | 'start-temporal' | 'stop-ray' | 'start-ray' | 'add-node' | 'kill-node',
  /** e.g. SECOND_NODE_GPUS for add-node (default 2). */
  env: Record<string, string> = {},
): Promise<void> {
  await run('bash', [STACK, action, 'test'], { env: { ...process.env, ...env }, timeout: 120_000 });
}
