import { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import type { EventType, ModelState } from '../../src/domain/lifecycle';
import { scaleUpdate } from '../../src/workflows/messages';
import { workflowIdFor } from '../../src/workflows/searchAttributes';
import { FaultProxy } from '../support/faultProxy';
import { RayDouble } from '../support/rayDouble';
import { eventually, testConfig } from '../support/stack';
import { connectTestServices, TestServices } from '../support/testServices';
import { ServiceProcess } from '../support/serviceProcess';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * Crash safety: the worker runs as its own OS process and is killed with SIGKILL while five
 * models are each held (by the Ray double) in the middle of a different phase: applying a first
 * deploy, waiting for a first deploy to be ready, scaling, rolling back a failed scale, and
 * deleting. A new worker process must bring every model to the right end state with each event
 * recorded exactly once.
 */

let ray: RayDouble;
let services: TestServices;
let commands: ModelCommands;
let worker: ServiceProcess;
/** The worker process reaches Postgres through this proxy, so a test can cut it. */
let postgres: FaultProxy;

beforeAll(async () => {
  ray = new RayDouble();
  await ray.start();
  ray.faults.startDelayMs = 200;
  const config = testConfig({ rayUrl: ray.url, readinessTimeoutS: 120 });
  services = await connectTestServices(config);
  commands = new ModelCommands(services.pool, services.client, config);
  const databaseUrl = new URL(config.database.url);
  postgres = new FaultProxy({ host: databaseUrl.hostname, port: Number(databaseUrl.port) });
  await postgres.start();
  databaseUrl.host = `127.0.0.1:${postgres.port}`;
  worker = new ServiceProcess('worker', {
    ARGUS_DATABASE_URL: databaseUrl.toString(),
    TEMPORAL_ADDRESS: config.temporal.address,
    ARGUS_TASK_QUEUE: config.temporal.task_queue,
    ARGUS_CLUSTER_ID: config.serving.cluster_id,
    RAY_DASHBOARD_URL: ray.url,
    ARGUS_INGRESS_URL: ray.url,
  });
  await worker.start();
});
afterAll(async () => {
  postgres?.restore();
  await worker?.stop();
  await postgres?.stop();
  await services?.close();
  await ray?.stop();
});

const eventsOf = (key: string) => listEvents(services.pool, key);
const stateOf = async (key: string) => (await getModel(services.pool, key))?.state;
const modelIdOf = async (key: string) => {
  const row = await getModel(services.pool, key);
  return `${row?.prefix}-${row?.suffix}`;
};
const reaches = (key: string, state: ModelState, timeoutMs = 60_000) =>
  eventually(async () => (await stateOf(key)) === state, timeoutMs, `${key} to reach ${state}`).catch(async (err: Error) => {
    const seen = (await eventsOf(key)).map((e) => e.eventType).join(', ');
    throw new Error(`${err.message}; it is ${await stateOf(key)} after ${seen}\nworker output:\n${worker.tail()}`);
  });
/** True once the model's events, in order, contain `steps` (other events may come between). */
const hasReached = async (key: string, steps: EventType[]) => {
  let next = 0;
  for (const e of await eventsOf(key)) if (e.eventType === steps[next]) next += 1;
  return next === steps.length;
};
/** Every event once, numbered 1..n; progress reports may repeat, so they are left out of the sequence. */
const expectEventsExactly = async (key: string, expected: EventType[]) => {
  const events = await eventsOf(key);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  expect(events.map((e) => e.eventType).filter((t) => t !== 'READINESS_PROGRESS')).toEqual(expected);
};

const FIRST_DEPLOY: EventType[] = ['DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING'];

describe('worker killed with SIGKILL in the middle of each phase', () => {
  it('ends every model in the right state with no event lost or repeated', async () => {
    // Three models that must be RUNNING before their phase starts.
    const [scaled, rolledBack, deleted] = await Promise.all([
      commands.deploy('alice', spec('crash-scale')),
      commands.deploy('alice', spec('crash-rollback')),
      commands.deploy('bob', spec('crash-delete')),
    ]);
    for (const ack of [scaled, rolledBack, deleted]) await reaches(ack.model_key, 'RUNNING');

    // Hold each model at its phase. None of these holds the cluster lock.
    ray.faults.holdReady.add('crash-ready').add('crash-scale').add('crash-rollback');
    ray.faults.holdRemoval.add('crash-delete');
    ray.faults.failingScales.set(await modelIdOf(rolledBack.model_key), 2);
    const ready = await commands.deploy('alice', spec('crash-ready'));
    await commands.scale(scaled.model_key, 2);
    await commands.scale(rolledBack.model_key, 2);
    await commands.delete(deleted.model_key);
    const deletedId = await modelIdOf(deleted.model_key);
    await eventually(async () => hasReached(ready.model_key, ['APPLY_SUCCEEDED']), 30_000, 'first deploy waiting for readiness');
    await eventually(async () => hasReached(scaled.model_key, ['SCALE_REQUESTED', 'APPLY_SUCCEEDED']), 30_000, 'scale waiting for readiness');
    await eventually(async () => hasReached(rolledBack.model_key, ['ROLLBACK_STARTED', 'APPLY_SUCCEEDED']), 30_000, 'rollback waiting for readiness');
    await eventually(async () => (await stateOf(deleted.model_key)) === 'DELETING' && !ray.modelIds().includes(deletedId), 30_000, 'delete waiting for removal');

    // Last, a first deploy whose PUT Ray applies but never answers: the worker dies holding the cluster lock.
    ray.faults.holdPutAnswers.add('crash-apply');
    const applying = await commands.deploy('bob', spec('crash-apply'));
    await eventually(async () => ray.heldPuts > 0 && hasReached(applying.model_key, ['APPLY_STARTED']), 30_000, 'apply in flight');

    await worker.kill();
    // Nothing moves while no worker runs.
    expect(await stateOf(ready.model_key)).toBe('DEPLOYING');
    expect(await stateOf(deleted.model_key)).toBe('DELETING');

    ray.faults.holdReady.clear();
    ray.faults.holdRemoval.clear();
    ray.faults.holdPutAnswers.clear();
    ray.releaseHeldPuts();
    await worker.start();

    await reaches(applying.model_key, 'RUNNING');
    await reaches(ready.model_key, 'RUNNING');
    await reaches(deleted.model_key, 'DELETED');
    await eventually(async () => hasReached(scaled.model_key, ['SCALE_REQUESTED', 'RUNNING']), 60_000, 'scale to finish');
    await eventually(async () => hasReached(rolledBack.model_key, ['ROLLED_BACK']), 60_000, 'rollback to finish');

    await expectEventsExactly(applying.model_key, FIRST_DEPLOY);
    await expectEventsExactly(ready.model_key, FIRST_DEPLOY);
    await expectEventsExactly(scaled.model_key, [...FIRST_DEPLOY, 'SCALE_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING']);
    await expectEventsExactly(rolledBack.model_key, [
      ...FIRST_DEPLOY,
      'SCALE_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'DEPLOY_FAILED',
      'ROLLBACK_STARTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'ROLLED_BACK',
    ]);
    await expectEventsExactly(deleted.model_key, [...FIRST_DEPLOY, 'DELETE_REQUESTED', 'DELETED']);

    expect(await getModel(services.pool, scaled.model_key)).toMatchObject({ state: 'RUNNING', revision: 2, spec: { num_replicas: 2 } });
    expect(await getModel(services.pool, rolledBack.model_key)).toMatchObject({
      state: 'RUNNING',
      spec: { num_replicas: 1 },
      errorSummary: expect.stringMatching(/^revision 2 \(scale\) failed and was rolled back: /),
    });
    const onCluster = ray.modelIds();
    for (const ack of [applying, ready, scaled, rolledBack]) expect(onCluster).toContain(await modelIdOf(ack.model_key));
    expect(onCluster).not.toContain(deletedId);
  });

  it('finishes a scale request whose acknowledgement was in flight when the worker died', async () => {
    const ack = await commands.deploy('alice', spec('crash-ack'));
    await reaches(ack.model_key, 'RUNNING');
    const handle = services.client.workflow.getHandle(workflowIdFor(ack.model_key));

    // Postgres unreachable for the worker: the request's event cannot be written, so the update
    // stays unacknowledged while the worker retries.
    postgres.cut();
    const scaling = handle.executeUpdate(scaleUpdate, { args: [{ num_replicas: 3 }] });
    await eventually(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.some((a) => a.activityType?.name === 'recordModelEvent' && (a.attempt ?? 0) >= 2);
    }, 30_000, 'the SCALE_REQUESTED write to be retrying');
    await worker.kill();
    postgres.restore();
    await worker.start();

    await expect(scaling).resolves.toMatchObject({ revision: 2, changed: true });
    await eventually(async () => hasReached(ack.model_key, ['SCALE_REQUESTED', 'RUNNING']), 60_000, 'the scale to finish');
    await expectEventsExactly(ack.model_key, [...FIRST_DEPLOY, 'SCALE_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING']);
    expect(await getModel(services.pool, ack.model_key)).toMatchObject({ state: 'RUNNING', revision: 2, spec: { num_replicas: 3 } });
  });
});
