import { createPool } from '../../src/db/pool';
import { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import type { ServingSpec } from '../../src/domain/servingSpec';
import { workflowIdFor } from '../../src/workflows/searchAttributes';
import { FaultProxy } from '../support/faultProxy';
import { RayDouble } from '../support/rayDouble';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import type { Pool } from 'pg';

/**
 * Postgres unreachable in the middle of a rollout: the worker reaches Postgres through a proxy
 * the test cuts. Recording the model's events is retried with backoff until Postgres is back;
 * the rollout then completes with every event recorded once.
 */
const spec: ServingSpec = {
  model_id_suffix: 'pg-outage',
  model_source: '/private/hf/demo/tiny-chat',
  num_replicas: 1,
  gpus_per_replica: 1,
  engine_kwargs: {},
  readiness_timeout_s: null,
};

let ray: RayDouble;
let proxy: FaultProxy;
let stack: RunningStack;
let direct: Pool;
let commands: ModelCommands;

beforeAll(async () => {
  ray = new RayDouble();
  await ray.start();
  ray.faults.startDelayMs = 0;
  const config = testConfig({ rayUrl: ray.url, readinessTimeoutS: 60 });
  const url = new URL(config.database.url);
  proxy = new FaultProxy({ host: url.hostname, port: Number(url.port) });
  await proxy.start();
  direct = createPool(config.database.url);
  url.host = `127.0.0.1:${proxy.port}`;
  config.database.url = url.toString();
  stack = await startStack(config);
  commands = new ModelCommands(stack.pool, stack.client, config);
});
afterAll(async () => {
  proxy?.restore();
  await stack?.close();
  await direct?.end();
  await proxy?.stop();
  await ray?.stop();
});

interface PendingActivity {
  activityType?: { name?: string | null } | null;
  attempt?: number | null;
  lastFailure?: { message?: string | null } | null;
}

describe('Postgres unreachable during a rollout', () => {
  it('retries recording events with backoff until Postgres is back, then completes the rollout', async () => {
    ray.faults.holdReady.add('pg-outage');
    const { model_key: key } = await commands.deploy('alice', spec);
    await eventually(async () => (await listEvents(direct, key)).some((e) => e.eventType === 'APPLY_SUCCEEDED'), 30_000, 'readiness wait');

    proxy.cut();
    ray.faults.holdReady.clear(); // the model becomes ready while its RUNNING event cannot be written
    const handle = stack.client.workflow.getHandle(workflowIdFor(key));
    const retrying = await eventually(async () => {
      const pending = ((await handle.describe()).raw.pendingActivities ?? []) as PendingActivity[];
      return pending.find((a) => a.activityType?.name === 'recordModelEvent' && (a.attempt ?? 0) >= 3);
    }, 30_000, 'recordModelEvent retrying');
    expect(retrying.lastFailure?.message).toBeTruthy();
    expect(proxy.refused).toBeGreaterThan(0);
    expect((await getModel(direct, key))?.state).toBe('DEPLOYING');

    proxy.restore();
    await eventually(async () => (await getModel(direct, key))?.state === 'RUNNING', 60_000, 'RUNNING after Postgres is back');
    const events = await listEvents(direct, key);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.eventType).filter((t) => t !== 'READINESS_PROGRESS')).toEqual(['DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING']);
  });
});
