import { workflowMetadataQuery } from '@temporalio/workflow';
import { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import type { ServingSpec } from '../../src/domain/servingSpec';
import { modelQuery } from '../../src/workflows/messages';
import { workflowIdFor } from '../../src/workflows/searchAttributes';
import { RayDouble } from '../support/rayDouble';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import { TemporalDevServer } from '../support/temporalDevServer';
import { testSpec } from '../support/servingSpecs';

/**
 * Long life: on a Temporal dev server of its own that suggests continue-as-new after a few
 * hundred history events, a model takes hundreds of scale requests. The workflow must continue
 * as new several times, carrying its state, revision and current details, and still deploy and
 * delete afterwards.
 */
const SUGGEST_AFTER_EVENTS = 300;
const SCALES = 200;

const spec = (extra: Partial<ServingSpec> = {}): ServingSpec => testSpec('long-lived', extra);

let temporal: TemporalDevServer | null = null;
/** A server started by hand with the same settings, kept after the test to save its histories (scripts/save-histories.sh). */
const externalServer = process.env.ARGUS_CAN_TEMPORAL_ADDRESS;
let ray: RayDouble;
let stack: RunningStack;
let commands: ModelCommands;

beforeAll(async () => {
  if (!externalServer) {
    temporal = new TemporalDevServer({ 'limit.historyCount.suggestContinueAsNew': SUGGEST_AFTER_EVENTS });
    await temporal.start();
  }
  ray = new RayDouble();
  await ray.start();
  ray.faults.startDelayMs = 0;
  const config = testConfig({ rayUrl: ray.url, readinessTimeoutS: 60 });
  config.temporal.address = externalServer ?? (temporal as TemporalDevServer).address;
  stack = await startStack(config);
  commands = new ModelCommands(stack.pool, stack.client, config);
});
afterAll(async () => {
  await stack?.close();
  await ray?.stop();
  await temporal?.stop();
});

const stateOf = async (key: string) => (await getModel(stack.pool, key))?.state;

describe('continue-as-new of a long-lived model', () => {
  it('continues as new under hundreds of scale requests and keeps state, revision, details and events', async () => {
    const { model_key: key } = await commands.deploy('alice', spec());
    const handle = stack.client.workflow.getHandle(workflowIdFor(key));
    const firstRunId = (await handle.describe()).runId;
    await eventually(async () => (await stateOf(key)) === 'RUNNING', 30_000, 'first deploy');

    // Requests arrive one after another, faster than rollouts finish: most supersede one another.
    let replicas = 1;
    for (let i = 0; i < SCALES; i++) {
      replicas = (replicas % 4) + 1;
      const ack = await commands.scale(key, replicas);
      expect(ack).toMatchObject({ revision: i + 2, changed: true });
    }
    const lastRevision = SCALES + 1;
    await eventually(async () => {
      const row = await getModel(stack.pool, key);
      return row?.state === 'RUNNING' && row.revision === lastRevision;
    }, 60_000, `revision ${lastRevision} RUNNING`);

    // Several runs: the first one ended by continuing as new.
    expect((await stack.client.workflow.getHandle(workflowIdFor(key), firstRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
    const runs = await eventually(async () => {
      const found = [];
      for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(key)}'` })) found.push(run.runId);
      return found.length >= 3 ? found : null;
    }, 20_000, 'at least three runs in visibility');
    expect(new Set(runs).size).toBe(runs.length);

    const view = await handle.query(modelQuery);
    expect(view).toMatchObject({ state: 'RUNNING', revision: lastRevision, serving_revision: lastRevision, spec: { num_replicas: replicas } });

    // Every request recorded once, numbered without a gap across runs.
    const events = await listEvents(stack.pool, key);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.eventType === 'SCALE_REQUESTED').map((e) => e.payload.revision)).toEqual(Array.from({ length: SCALES }, (_, i) => i + 2));
    const running = events.filter((e) => e.eventType === 'RUNNING').map((e) => e.payload.revision);
    expect(new Set(running).size).toBe(running.length);
    expect(running).toContain(lastRevision);

    // Idle now; identical re-POSTs (no rollout) grow the history until the server suggests
    // continuing as new again. The new run has done nothing yet: what it shows was carried.
    const idleRunId = (await handle.describe()).runId;
    await eventually(async () => {
      const again = await commands.deploy('alice', spec({ num_replicas: replicas }));
      expect(again.changed).toBe(false);
      return (await handle.describe()).runId !== idleRunId;
    }, 60_000, 'an idle continue-as-new');
    const metadata = await handle.query(workflowMetadataQuery);
    // The SDK cannot give a continued run a static summary; its current details name the model instead.
    expect(metadata.currentDetails).toBe(`**RUNNING** ${view.model_id}\n\nserving revision ${lastRevision}`);
    expect(await handle.query(modelQuery)).toMatchObject({ state: 'RUNNING', revision: lastRevision, details: `serving revision ${lastRevision}` });
    const description = await handle.describe();
    expect(description.searchAttributes).toMatchObject({ ArgusUserId: ['alice'], ArgusModelState: ['RUNNING'], ArgusModelId: [view.model_id] });

    // The continued workflow still takes a new spec and a delete.
    const redeploy = await commands.deploy('alice', spec({ num_replicas: replicas, gpus_per_replica: 2 }));
    expect(redeploy).toMatchObject({ revision: lastRevision + 1, changed: true });
    await eventually(async () => (await getModel(stack.pool, key))?.revision === lastRevision + 1 && (await stateOf(key)) === 'RUNNING', 30_000, 'redeploy');
    await commands.delete(key);
    await eventually(async () => (await stateOf(key)) === 'DELETED', 30_000, 'delete');
    expect(ray.modelIds()).not.toContain(view.model_id);
    const all = await listEvents(stack.pool, key);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
  });
});
