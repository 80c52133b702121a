import type { Pool } from 'pg';
import { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import type { ModelState } from '../../src/domain/lifecycle';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { modelQuery } from '../../src/workflows/messages';
import { workflowIdFor } from '../../src/workflows/searchAttributes';
import { modelIdsInPut, RayDouble } from '../support/rayDouble';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';


let ray: RayDouble;
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;

beforeAll(async () => {
  ray = new RayDouble();
  await ray.start();
  stack = await startStack(testConfig({ rayUrl: ray.url, readinessTimeoutS: 30 }));
  commands = new ModelCommands(stack.pool, stack.client, stack.config);
  pool = stack.pool;
});
afterAll(async () => {
  await stack?.close();
  await ray?.stop();
});
beforeEach(() => {
  ray.faults.failingModels.clear();
  ray.faults.failingScales.clear();
  ray.faults.putStatus = null;
  ray.faults.dashboardDown = false;
  ray.faults.startDelayMs = 300;
  ray.faults.holdReady.clear();
  ray.faults.gatePuts.clear();
});

const stateOf = async (key: string) => (await getModel(pool, key))?.state;
const reaches = (key: string, state: ModelState, timeoutMs = 30_000) =>
  eventually(async () => (await stateOf(key)) === state, timeoutMs, `${key} to reach ${state}`).catch(async (err: Error) => {
    throw new Error(`${err.message}; it is ${await stateOf(key)} after events ${(await eventTypes(key)).join(', ')}`);
  });
const eventTypes = async (key: string) => (await listEvents(pool, key)).map((e) => e.eventType);
const modelIdOf = async (key: string) => {
  const row = await getModel(pool, key);
  return `${row?.prefix}-${row?.suffix}`;
};

describe('model workflow against real Temporal and Postgres (Ray double)', () => {
  it('records no progress for a model ready within the first second (the moments after a PUT are not news)', async () => {
    // The double shows every new deployment starting on the first status read and ready after 300 ms.
    const ack = await commands.deploy('alice', spec('quick'));
    await reaches(ack.model_key, 'RUNNING');
    expect(await eventTypes(ack.model_key)).toEqual(['DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING']);
  });

  it('deploys a model to RUNNING and records every step once, in order', async () => {
    // Held until one progress report is recorded, so the sequence does not depend on timing.
    ray.faults.holdReady.add('happy');
    const ack = await commands.deploy('alice', spec('happy'));
    expect(ack).toMatchObject({ state: 'QUEUED', revision: 1, changed: true });
    await eventually(async () => (await eventTypes(ack.model_key)).includes('READINESS_PROGRESS'), 30_000, 'a progress report');
    ray.faults.holdReady.clear();
    await reaches(ack.model_key, 'RUNNING');
    expect(await eventTypes(ack.model_key)).toEqual(['DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'READINESS_PROGRESS', 'RUNNING']);
    const events = await listEvents(pool, ack.model_key);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const view = await stack.client.workflow.getHandle(workflowIdFor(ack.model_key)).query(modelQuery);
    expect(view).toMatchObject({ state: 'RUNNING', revision: 1, serving_revision: 1 });
    const description = await stack.client.workflow.getHandle(workflowIdFor(ack.model_key)).describe();
    expect(description.searchAttributes.ArgusModelState).toEqual(['RUNNING']);
    expect(ray.modelIds()).toContain(await modelIdOf(ack.model_key));
  });

  it('starts no new rollout for an identical re-POST', async () => {
    const ack = await commands.deploy('alice', spec('same'));
    await reaches(ack.model_key, 'RUNNING');
    const before = await eventTypes(ack.model_key);
    const again = await commands.deploy('alice', spec('same'));
    expect(again).toMatchObject({ model_key: ack.model_key, state: 'RUNNING', revision: 1, changed: false });
    expect(await eventTypes(ack.model_key)).toEqual(before);
  });

  it('fails a first deploy cleanly: FAILED with the root cause, removed from the cluster, neighbour untouched', async () => {
    const neighbour = await commands.deploy('bob', spec('neighbour'));
    await reaches(neighbour.model_key, 'RUNNING');
    const putsBefore = ray.puts.length;
    const row = { suffix: 'broken' };
    // The failing model's public id is only known once it exists; mark every id ending in -broken.
    const original = ray.faults.failingModels.has.bind(ray.faults.failingModels);
    ray.faults.failingModels.has = (id: string) => id.endsWith(`-${row.suffix}`) || original(id);
    const ack = await commands.deploy('alice', spec('broken'));
    await reaches(ack.model_key, 'FAILED');
    const model = await getModel(pool, ack.model_key);
    expect(model?.errorSummary).toBe(`RuntimeError: config.json of ${await modelIdOf(ack.model_key)} is malformed`);
    expect(await eventTypes(ack.model_key)).toEqual(expect.arrayContaining(['DEPLOY_FAILED', 'REMOVED_FROM_CLUSTER']));
    const failed = (await listEvents(pool, ack.model_key)).find((e) => e.eventType === 'DEPLOY_FAILED');
    expect(String(failed?.payload.message)).toContain('Traceback');
    expect(ray.modelIds()).not.toContain(await modelIdOf(ack.model_key));
    expect(ray.modelIds()).toContain(await modelIdOf(neighbour.model_key));
    expect(await stateOf(neighbour.model_key)).toBe('RUNNING');
    // No PUT ever dropped the neighbour.
    for (const apps of ray.puts.slice(putsBefore)) {
      expect(modelIdsInPut(apps)).toContain(await modelIdOf(neighbour.model_key));
    }
    ray.faults.failingModels.has = original;
  });

  it('rolls a failed scale of a running model back to the last good revision', async () => {
    const ack = await commands.deploy('alice', spec('scaler'));
    await reaches(ack.model_key, 'RUNNING');
    const modelId = await modelIdOf(ack.model_key);
    ray.faults.failingScales.set(modelId, 3);
    const scaled = await commands.scale(ack.model_key, 3);
    expect(scaled).toMatchObject({ state: 'QUEUED', revision: 2, changed: true });
    await eventually(async () => (await eventTypes(ack.model_key)).includes('ROLLED_BACK'), 30_000, 'rollback');
    expect(await stateOf(ack.model_key)).toBe('RUNNING');
    const model = await getModel(pool, ack.model_key);
    expect(model?.spec.num_replicas).toBe(1);
    expect(model?.errorSummary).toMatch(/^revision 2 \(scale\) failed and was rolled back: RuntimeError/);
    expect(await eventTypes(ack.model_key)).toEqual(expect.arrayContaining(['SCALE_REQUESTED', 'DEPLOY_FAILED', 'ROLLBACK_STARTED', 'ROLLED_BACK']));
  });

  it('fails at once, without retrying, when Ray rejects the config (400), and keeps the bad config out of later PUTs', async () => {
    ray.faults.putStatus = { status: 400, remaining: 1 };
    const ack = await commands.deploy('alice', spec('rejected'));
    await reaches(ack.model_key, 'FAILED');
    expect((await getModel(pool, ack.model_key))?.errorSummary).toMatch(/Ray answered 400/);
    const other = await commands.deploy('alice', spec('after-rejected'));
    await reaches(other.model_key, 'RUNNING');
    expect(ray.modelIds()).not.toContain(await modelIdOf(ack.model_key));
  });

  it('retries through Ray 5xx answers and an unreachable dashboard, then converges', async () => {
    ray.faults.putStatus = { status: 500, remaining: 2 };
    const ack = await commands.deploy('alice', spec('flaky'));
    await reaches(ack.model_key, 'RUNNING', 60_000);
    ray.faults.dashboardDown = true;
    await commands.scale(ack.model_key, 2);
    // Nothing is placed before the cluster's GPUs are known to take it: the scale waits, QUEUED,
    // while its admission is retried, and never fails for it.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await stateOf(ack.model_key)).toBe('QUEUED');
    ray.faults.dashboardDown = false;
    await reaches(ack.model_key, 'RUNNING', 60_000);
    expect((await getModel(pool, ack.model_key))?.spec.num_replicas).toBe(2);
  });

  it('deletes a model, frees its place on the cluster and refuses further changes', async () => {
    const ack = await commands.deploy('alice', spec('doomed'));
    await reaches(ack.model_key, 'RUNNING');
    const del = await commands.delete(ack.model_key);
    expect(del.state).toBe('DELETING');
    await reaches(ack.model_key, 'DELETED');
    expect(ray.modelIds()).not.toContain(await modelIdOf(ack.model_key));
    await expect(commands.scale(ack.model_key, 2)).rejects.toMatchObject({ status: 409 });
    // The suffix is free again: a new POST creates a new model.
    const again = await commands.deploy('alice', spec('doomed'));
    expect(again.model_key).not.toBe(ack.model_key);
  });

  it('lets a delete supersede a rollout that is still waiting', async () => {
    ray.faults.startDelayMs = 60_000;
    const ack = await commands.deploy('alice', spec('slow-delete'));
    await reaches(ack.model_key, 'DEPLOYING');
    await commands.delete(ack.model_key);
    await reaches(ack.model_key, 'DELETED', 20_000);
    expect(await eventTypes(ack.model_key)).toEqual(expect.arrayContaining(['DELETE_REQUESTED', 'DELETED']));
  });

  it('lets a newer spec supersede one still rolling out; the newest wins', async () => {
    ray.faults.startDelayMs = 60_000;
    const ack = await commands.deploy('alice', spec('superseded'));
    await reaches(ack.model_key, 'DEPLOYING');
    ray.faults.startDelayMs = 200;
    // Each newer spec redefines the model (a new engine argument), so it starts afresh.
    await commands.deploy('alice', spec('superseded', { num_replicas: 2, engine_kwargs: { seed: 2 } }));
    await commands.deploy('alice', spec('superseded', { num_replicas: 3, engine_kwargs: { seed: 3 } }));
    await reaches(ack.model_key, 'RUNNING');
    const model = await getModel(pool, ack.model_key);
    expect(model?.spec.num_replicas).toBe(3);
    expect(model?.revision).toBe(3);
    expect(await eventTypes(ack.model_key)).toContain('DEPLOY_SUPERSEDED');
  });

  it('keeps an app it does not manage through every PUT', async () => {
    ray.addForeignApp({ name: 'someone-elses', import_path: 'their.module:app' });
    const ack = await commands.deploy('bob', spec('next-to-foreign'));
    await reaches(ack.model_key, 'RUNNING');
    expect(ray.appNames()).toContain('someone-elses');
    expect(ray.puts[ray.puts.length - 1]?.map((a) => a.name)).toContain('someone-elses');
  });

  it('survives a worker shutdown and restart in the middle of a rollout without losing or repeating anything', async () => {
    ray.faults.startDelayMs = 3_000;
    const ack = await commands.deploy('alice', spec('crash'));
    await reaches(ack.model_key, 'DEPLOYING');
    await stack.stopWorker();
    await stack.startWorker();
    await reaches(ack.model_key, 'RUNNING', 60_000);
    const events = await listEvents(pool, ack.model_key);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.eventType === 'RUNNING')).toHaveLength(1);
  });

  it('keeps the operator view current: search attributes, summary, details, activity summaries and heartbeats', async () => {
    ray.faults.holdReady.add('operator-view');
    const ack = await commands.deploy('alice', spec('operator-view'));
    const modelId = await modelIdOf(ack.model_key);
    const handle = stack.client.workflow.getHandle(workflowIdFor(ack.model_key));
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(`Model ${modelId} of alice`);
    expect(await description.staticDetails()).toBe(`model_key: ${ack.model_key}`);

    // While it waits for readiness: state DEPLOYING, details and the watch's heartbeat say on what.
    await eventually(async () => (await eventTypes(ack.model_key)).includes('READINESS_PROGRESS'), 30_000, 'a progress report');
    const waiting = await handle.describe();
    expect(waiting.searchAttributes).toMatchObject({ ArgusUserId: ['alice'], ArgusModelId: [modelId], ArgusModelState: ['DEPLOYING'] });
    expect((await handle.query(workflowMetadataQuery)).currentDetails).toMatch(new RegExp(`^\\*\\*DEPLOYING\\*\\* ${modelId}\\n\\nreplicas ready 0/1: `));
    const watch = await eventually(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.find((a) => a.activityType?.name === 'watchReadiness' && a.heartbeatDetails?.payloads?.length);
    }, 15_000, 'a heartbeat from the readiness watch');
    const heartbeat = JSON.parse(Buffer.from(watch.heartbeatDetails?.payloads?.[0]?.data ?? []).toString()) as { readyReplicas: number; targetReplicas: number; message: string };
    expect(heartbeat).toMatchObject({ readyReplicas: 0, targetReplicas: 1 });
    expect(heartbeat.message).toBeTruthy();

    // The UI's list finds it with the query strings the README gives.
    const query = `ArgusUserId = "alice" AND ArgusModelId = "${modelId}" AND ArgusModelState = "DEPLOYING"`;
    await eventually(async () => {
      for await (const run of stack.client.workflow.list({ query })) if (run.workflowId === workflowIdFor(ack.model_key)) return true;
      return false;
    }, 15_000, `a visibility query: ${query}`);

    ray.faults.holdReady.clear();
    await reaches(ack.model_key, 'RUNNING');
    expect((await handle.describe()).searchAttributes.ArgusModelState).toEqual(['RUNNING']);
    expect((await handle.query(workflowMetadataQuery)).currentDetails).toBe(`**RUNNING** ${modelId}\n\nserving revision 1`);
    // A request that changes nothing leaves the details as they were.
    expect((await commands.deploy('alice', spec('operator-view'))).changed).toBe(false);
    expect((await handle.query(workflowMetadataQuery)).currentDetails).toBe(`**RUNNING** ${modelId}\n\nserving revision 1`);

    // Readable activity names in the history.
    const history = await handle.fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => (e.userMetadata?.summary?.data ? JSON.parse(Buffer.from(e.userMetadata.summary.data).toString()) : null));
    expect(summaries).toEqual(expect.arrayContaining(['record DEPLOY_REQUESTED', `apply revision 1 of ${modelId}`, `wait for ${modelId} r1 to be ready`, 'record RUNNING']));
    expect(summaries).not.toContain(null);

    await commands.delete(ack.model_key);
    await reaches(ack.model_key, 'DELETED');
    expect((await handle.describe()).searchAttributes.ArgusModelState).toEqual(['DELETED']);
  });

  it('fails a rollout that is not ready by the deadline its spec sets, and takes it off the cluster', async () => {
    ray.faults.holdReady.add('deadline');
    const ack = await commands.deploy('alice', spec('deadline', { readiness_timeout_s: 2 }));
    await reaches(ack.model_key, 'FAILED');
    expect((await getModel(pool, ack.model_key))?.errorSummary).toMatch(/^not ready within the readiness deadline: .*\(replicas ready 0\/1\)$/);
    const failed = (await listEvents(pool, ack.model_key)).find((e) => e.eventType === 'DEPLOY_FAILED');
    expect(failed?.payload).toMatchObject({ revision: 1, error_type: 'ReadinessDeadlineExceeded' });
    expect(ray.modelIds()).not.toContain(await modelIdOf(ack.model_key));
  });

  it('keeps retrying a delete that Ray refuses until the model is gone', async () => {
    const ack = await commands.deploy('alice', spec('stubborn'));
    await reaches(ack.model_key, 'RUNNING');
    const modelId = await modelIdOf(ack.model_key);
    ray.faults.putStatus = { status: 400, remaining: 2 };
    await commands.delete(ack.model_key);
    const handle = stack.client.workflow.getHandle(workflowIdFor(ack.model_key));
    await eventually(async () => (await handle.query(workflowMetadataQuery)).currentDetails?.includes('removal attempt 2 failed, retrying in 4 s: Ray answered 400'), 20_000, 'a second failed removal');
    expect(await stateOf(ack.model_key)).toBe('DELETING');
    expect(ray.modelIds()).toContain(modelId);
    await reaches(ack.model_key, 'DELETED', 30_000);
    expect(ray.modelIds()).not.toContain(modelId);
    const types = (await eventTypes(ack.model_key)).filter((t) => t !== 'READINESS_PROGRESS');
    expect(types).toEqual(['DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING', 'DELETE_REQUESTED', 'DELETED']);
  });

  it('takes a model off the cluster and ends FAILED when the rollback of a failed change fails too', async () => {
    const ack = await commands.deploy('alice', spec('no-way-back'));
    await reaches(ack.model_key, 'RUNNING');
    const modelId = await modelIdOf(ack.model_key);
    ray.faults.failingModels.add(modelId); // every new rollout of it fails from now on, the rollback included
    await commands.scale(ack.model_key, 2);
    await reaches(ack.model_key, 'FAILED');
    ray.faults.failingModels.delete(modelId);
    const model = await getModel(pool, ack.model_key);
    expect(model?.errorSummary).toMatch(/^revision 2 \(scale\) failed: RuntimeError: .*; the rollback to revision 1 failed too, so the model was taken off the cluster: RuntimeError: /);
    const types = (await eventTypes(ack.model_key)).filter((t) => t !== 'READINESS_PROGRESS');
    expect(types).toEqual([
      'DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING',
      'SCALE_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'DEPLOY_FAILED',
      'ROLLBACK_STARTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'DEPLOY_FAILED', 'REMOVED_FROM_CLUSTER',
    ]);
    expect(ray.modelIds()).not.toContain(modelId);
  });

  it('skips compensation for a failed rollout that a newer request already replaces', async () => {
    ray.faults.gatePuts.add('replaced-failure');
    const ack = await commands.deploy('alice', spec('replaced-failure'));
    await eventually(async () => ray.gatedPuts > 0 && (await eventTypes(ack.model_key)).includes('APPLY_STARTED'), 30_000, 'the first PUT at the gate');
    const newer = await commands.deploy('alice', spec('replaced-failure', { num_replicas: 2 }));
    expect(newer).toMatchObject({ revision: 2, changed: true });
    ray.faults.gatePuts.clear();
    ray.openGate({ status: 400 });
    await reaches(ack.model_key, 'RUNNING');
    const model = await getModel(pool, ack.model_key);
    expect(model).toMatchObject({ revision: 2, spec: { num_replicas: 2 }, errorSummary: null });
    const types = (await eventTypes(ack.model_key)).filter((t) => t !== 'READINESS_PROGRESS');
    expect(types).toEqual(['DEPLOY_REQUESTED', 'APPLY_STARTED', 'DEPLOY_REQUESTED', 'DEPLOY_FAILED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING']);
  });
});
