import { modelDetailSchema, requestAckSchema } from '../src/api/contract/responseSchemas';
import { startApiHarness } from '../test/support/apiHarness';
import { eventually } from '../test/support/stack';
import { eventLogProblems } from './support/eventLog';
import { atScale, mustBeZero, recordFigures } from './support/figures';
import { ServiceProcess } from '../test/support/serviceProcess';

/**
 * The worker process is killed with SIGKILL at a random moment of a deploy, a scale or a delete,
 * and a new one is started at once. Every request must still end as asked (nothing lost),
 * every step be recorded once (nothing done twice), and no model stay in a non-final state.
 */
const TRIALS = atScale(6, 50);
const MAX_KILL_DELAY_MS = 2_500;
type Kind = 'deploy' | 'scale' | 'delete';

let h: Awaited<ReturnType<typeof startApiHarness>>;
let worker: ServiceProcess;
let env: Record<string, string>;

async function startWorker(): Promise<ServiceProcess> {
  const process = new ServiceProcess('worker', env);
  await process.start();
  return process;
}

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0, readinessTimeoutS: 600 });
  await h.stack.stopWorker(); // the worker under test runs as its own process
  const config = h.stack.config;
  env = {
    ARGUS_TASK_QUEUE: config.temporal.task_queue,
    ARGUS_CLUSTER_ID: config.serving.cluster_id,
    RAY_DASHBOARD_URL: h.ray.url,
    ARGUS_INGRESS_URL: h.ray.url,
    ARGUS_READINESS_TIMEOUT_S: '600',
    LOG_LEVEL: 'info',
  };
  h.ray.faults.startDelayMs = 1_500;
  worker = await startWorker();
});
afterAll(async () => {
  await worker?.stop();
  await h?.stack.startWorker(); // close() stops it again
  await h?.close();
});

const detailOf = async (key: string) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`)).body);

describe('worker crash matrix', () => {
  it(`SIGKILL at random points of ${TRIALS} deploys, scales and deletes`, async () => {
    const tally = { lost: 0, duplicated: 0, stuck: 0 };
    const recoveries: number[] = [];
    const failures: string[] = [];
    const running: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const kind: Kind = running.length === 0 ? 'deploy' : (['deploy', 'scale', 'delete'] as const)[trial % 3] ?? 'deploy';
      let key: string;
      let want: { state: string; replicas?: number };
      if (kind === 'deploy') {
        key = requestAckSchema.parse((await h.call('POST', '/api/v2/serve/models', { body: JSON.stringify({ model_id: `crash-${trial}`, model_source: '/private/hf/demo/tiny-chat' }), type: 'application/json' })).body).model_key;
        want = { state: 'RUNNING', replicas: 1 };
      } else if (kind === 'scale') {
        key = running[trial % running.length] as string;
        const replicas = ((await detailOf(key)).model.num_replicas % 3) + 1;
        const response = await h.call('PATCH', `/api/v2/serve/models/${key}`, { body: JSON.stringify({ num_replicas: replicas }), type: 'application/json' });
        if (response.status !== 200) failures.push(`trial ${trial}: scale answered ${response.status}`);
        want = { state: 'RUNNING', replicas };
      } else {
        key = running.shift() as string;
        const response = await h.call('DELETE', `/api/v2/serve/models/${key}`);
        if (response.status !== 200) failures.push(`trial ${trial}: delete answered ${response.status}`);
        want = { state: 'DELETED' };
      }

      await new Promise((r) => setTimeout(r, Math.random() * MAX_KILL_DELAY_MS));
      await worker.kill();
      const killedAt = Date.now();
      worker = await startWorker();

      const reached = await eventually(async () => {
        const detail = await detailOf(key);
        return detail.model.state === want.state && (want.replicas === undefined || detail.model.num_replicas === want.replicas) && detail;
      }, 180_000, `${kind} of ${key} to finish`).catch(() => null);
      if (!reached) {
        const detail = await detailOf(key);
        const settled = ['RUNNING', 'FAILED', 'DELETED'].includes(detail.model.state);
        if (settled) tally.lost += 1;
        else tally.stuck += 1;
        failures.push(`trial ${trial} ${kind} ${key}: ${detail.model.state} x${detail.model.num_replicas}, wanted ${JSON.stringify(want)}`);
        continue;
      }
      recoveries.push((Date.now() - killedAt) / 1000);
      const problems = eventLogProblems(reached);
      tally.duplicated += problems.length;
      failures.push(...problems);
      if (kind === 'deploy') running.push(key);
    }
    const sorted = [...recoveries].sort((a, b) => a - b);
    const at = (q: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1));
    recordFigures('worker_crash', 'Worker SIGKILL at random points', [
      { name: 'trials (deploy, scale, delete)', value: TRIALS },
      mustBeZero('lost requests', tally.lost),
      mustBeZero('duplicated events', tally.duplicated),
      mustBeZero('models stuck in a non-final state', tally.stuck),
      { name: 'kill -> request finished, median (s)', value: at(0.5) },
      { name: 'kill -> request finished, max (s)', value: at(1) },
    ]);
    expect(failures).toEqual([]);
  }, atScale(10, 40) * 60_000);
});
