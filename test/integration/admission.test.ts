import type { Pool } from 'pg';
import type { ModelCommands } from '../../src/api/modelCommands';
import { toServingModel } from '../../src/api/servingModelView';
import { getModel, listEvents } from '../../src/db/models';
import type { ModelState } from '../../src/domain/lifecycle';
import type { RayDouble } from '../support/rayDouble';
import { testSpec as spec } from '../support/servingSpecs';
import { useDoubleStack } from '../support/doubleStack';
import { eventually, type RunningStack } from '../support/stack';

/**
 * Capacity-aware admission against real Temporal and Postgres, with the Ray double listing the
 * cluster's nodes: a model that fits the cluster but not the free GPUs waits in line (QUEUED, with
 * its reason and place), first come first served, and is never placed on Ray before it fits.
 */
const env = useDoubleStack();
const ray = (): RayDouble => env.ray;
const stack = (): RunningStack => env.stack;
const commands = (): ModelCommands => env.commands;
const pool = (): Pool => env.stack.pool;

const stateOf = async (key: string) => (await getModel(pool(), key))?.state;
const eventTypes = async (key: string) => (await listEvents(pool(), key)).map((e) => e.eventType);
const reaches = (key: string, state: ModelState, timeoutMs = 30_000) =>
  eventually(async () => (await stateOf(key)) === state, timeoutMs, `${key} to reach ${state}`).catch(async (err: Error) => {
    throw new Error(`${err.message}; it is ${await stateOf(key)} after events ${(await eventTypes(key)).join(', ')}`);
  });
const view = async (key: string) => toServingModel((await getModel(pool(), key))!, stack().config.serving.openai_base_url);
const onRay = (key: string) => ray().appNames().some((name) => name.includes(`--${key}--`));

describe('admission to the cluster GPUs', () => {
  beforeAll(() => {
    ray().nodes = [{ gpus: 8, acceleratorType: 'H20' }];
    ray().faults.failingSources.add('demo/broken-model');
  });

  it('queues a model that does not fit the free GPUs, first come first served, and admits it when room frees', async () => {
    const big = await commands().deploy('alice', spec('holds-six', { num_replicas: 6 }));
    await reaches(big.model_key, 'RUNNING');

    const waiting = await commands().deploy('alice', spec('wants-four', { num_replicas: 4 }));
    await eventually(async () => (await view(waiting.model_key)).admission !== null, 15_000, 'wants-four in line');
    expect(await view(waiting.model_key)).toMatchObject({ state: 'QUEUED', admission: { position: 1, reason: 'waiting for 4 H20 GPUs (2 free, none ahead)' } });
    // A later small model does not overtake, even though it would fit the 2 free GPUs.
    const small = await commands().deploy('bob', spec('wants-one'));
    await eventually(async () => (await view(small.model_key)).admission !== null, 15_000, 'wants-one in line');
    expect((await view(small.model_key)).admission).toEqual({ position: 2, reason: 'waiting for 1 H20 GPU (2 free, 1 model ahead)' });
    expect(await eventTypes(waiting.model_key)).toContain('ADMISSION_WAITING');
    // Never placed on Ray before it fits.
    expect(onRay(waiting.model_key)).toBe(false);
    expect(onRay(small.model_key)).toBe(false);

    await commands().delete(big.model_key);
    await reaches(big.model_key, 'DELETED');
    await reaches(waiting.model_key, 'RUNNING');
    await reaches(small.model_key, 'RUNNING');
    const admittedAt = async (key: string) => (await listEvents(pool(), key)).find((e) => e.eventType === 'ADMITTED')!.createdAt.getTime();
    expect(await admittedAt(waiting.model_key)).toBeLessThanOrEqual(await admittedAt(small.model_key));
    expect((await view(waiting.model_key)).admission).toBeNull();
  });

  it('queues a scale-up that does not fit while the model keeps serving, and admits it when a node joins', async () => {
    // 4 + 1 held of 8: a scale of wants-one to 5 needs 4 more than the 3 free.
    const [model] = (await pool().query<{ model_key: string }>("SELECT model_key FROM models WHERE model_id_suffix = 'wants-one' AND deleted_at IS NULL")).rows;
    const key = model!.model_key;
    await commands().scale(key, 5);
    await eventually(async () => (await view(key)).admission !== null, 15_000, 'the scale-up in line');
    expect((await view(key)).admission?.reason).toBe('waiting for 4 H20 GPUs (3 free, none ahead)');
    // Still serving as it was: one replica on Ray.
    const modelId = (await view(key)).model_id;
    const replicas = Object.entries(ray().replicaIds()).filter(([deployment]) => deployment.endsWith(`/${modelId}`));
    expect(replicas.map(([, ids]) => ids.length)).toEqual([1]);
    expect(await stateOf(key)).toBe('QUEUED');
    ray().nodes = [...ray().nodes, { gpus: 8, acceleratorType: 'H20' }];
    await reaches(key, 'RUNNING');
    expect((await view(key)).num_replicas).toBe(5);
  });

  it('gives back the GPUs of a model whose first deploy failed, and of a model scaled down', async () => {
    const before = await heldGpus();
    const failing = await commands().deploy('alice', spec('never-starts', { model_source: '/private/hf/demo/broken-model' }));
    await reaches(failing.model_key, 'FAILED', 60_000);
    expect(await heldGpus()).toBe(before);
    const [model] = (await pool().query<{ model_key: string }>("SELECT model_key FROM models WHERE model_id_suffix = 'wants-one' AND deleted_at IS NULL")).rows;
    await commands().scale(model!.model_key, 1);
    await reaches(model!.model_key, 'RUNNING');
    expect(await heldGpus()).toBe(before - 4);
  });
});

async function heldGpus(): Promise<number> {
  const result = await pool().query<{ held: string | null }>('SELECT sum(held) AS held FROM admissions');
  return Number(result.rows[0]?.held ?? 0);
}
