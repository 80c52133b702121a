import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';

const run = promisify(execFile);
const STACK = path.join(__dirname, '..', '..', 'scripts', 'stack.sh');
/** The custom resource scripts/stack.sh gives the second node, so it can be told from the head. */
const SECOND_NODE_RESOURCE = 'argus_second_node';
const DEAD_NODE_TIMEOUT_MS = 120_000;

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
  // A second node killed by an earlier test stays ALIVE in Ray's eyes until its health checks
  // fail (tens of seconds): a new one added before then is confused with it, and Ray may place
  // replicas on the ghost.
  if (action === 'add-node') await untilNoSecondNodeIsAlive();
  await run('bash', [STACK, action, 'test'], { env: { ...process.env, ...env }, timeout: 120_000 });
}

async function aliveSecondNodes(): Promise<string[]> {
  const dashboard = process.env.RAY_DASHBOARD_URL ?? 'http://127.0.0.1:8265';
  const response = await request(`${dashboard}/api/v0/nodes?limit=10000`);
  const body = (await response.body.json()) as { data: { result: { result: Array<{ node_id: string; state: string; resources_total?: Record<string, number> }> } } };
  return body.data.result.result.filter((n) => n.state === 'ALIVE' && (n.resources_total ?? {})[SECOND_NODE_RESOURCE] !== undefined).map((n) => n.node_id);
}

async function untilNoSecondNodeIsAlive(): Promise<void> {
  const deadline = Date.now() + DEAD_NODE_TIMEOUT_MS;
  let alive = await aliveSecondNodes();
  while (alive.length > 0) {
    if (Date.now() > deadline) throw new Error(`Ray still calls the killed second node ${alive.join(', ')} alive after ${DEAD_NODE_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
    alive = await aliveSecondNodes();
  }
}
