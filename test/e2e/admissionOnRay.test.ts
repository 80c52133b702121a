import { stackAction } from '../../reliability/support/stackControl';
import { ADMIN_TOKEN, type ApiOnRealRay, startApiOnRealRay } from '../support/apiOnRealRay';
import { eventually, RunningStack } from '../support/stack';

/**
 * Admission on a real Ray node (8 logical GPUs, the stand-in engine) through the API: a model
 * larger than the cluster is refused at once; two that together exceed it queue the second with
 * its reason until the first is deleted or a second raylet joins; a user over quota gets 403.
 */
let api: ApiOnRealRay;
let stack: RunningStack;
const call: ApiOnRealRay['call'] = (...args) => api.call(...args);
const modelOf = async (key: string) => (await call('GET', `/api/v2/serve/models/${key}`)).body.model;
const reaches = (key: string, state: string) => eventually(async () => (await modelOf(key)).state === state, 120_000, `${key} to reach ${state}`);
const post = async (suffix: string, gpus: number) => {
  const posted = await call('POST', '/api/v2/serve/models', `model_id: ${suffix}\nmodel_source: /private/hf/demo/tiny-chat\ngpus_per_replica: ${gpus}\n`, 'application/yaml');
  expect(posted.status).toBe(202);
  return posted.body.model_key as string;
};
async function onRay(key: string): Promise<boolean> {
  const serve = (await (await fetch(`${stack.config.serving.ray_dashboard_url}/api/serve/applications/`)).json()) as { applications: Record<string, unknown> };
  return Object.keys(serve.applications).some((name) => name.includes(`--${key}--`));
}

beforeAll(async () => {
  api = await startApiOnRealRay('dana');
  stack = api.stack;
});

afterAll(async () => {
  await stackAction('kill-node').catch(() => undefined);
  await api?.close();
});

describe('admission on a real Ray node', () => {
  const keys: string[] = [];

  it('queues a model that does not fit beside another, and runs it once the first is deleted', async () => {
    const refused = await call('POST', '/api/v2/serve/models', 'model_id: whole-cluster\nmodel_source: /private/hf/demo/tiny-chat\nnum_replicas: 3\ngpus_per_replica: 4\n', 'application/yaml');
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toMatch(/needs 12 H20 GPUs .* the whole cluster has 8/);

    const first = await post('six-gpus', 6);
    await reaches(first, 'RUNNING');
    const second = await post('four-gpus', 4);
    await eventually(async () => (await modelOf(second)).admission !== null, 30_000, 'four-gpus in line');
    expect(await modelOf(second)).toMatchObject({ state: 'QUEUED', admission: { position: 1, reason: 'waiting for 4 H20 GPUs (2 free, none ahead)' } });
    expect(await onRay(second)).toBe(false);
    const status = (await call('GET', '/api/v2/serve/status', undefined, 'application/json', ADMIN_TOKEN)).body;
    expect(status.capacity.accelerators.H20).toEqual({ capacity: 8, reserved: 6, free: 2 });
    expect(status.capacity.queue).toEqual([expect.objectContaining({ position: 1, model_key: second, wanted_gpus: 4 })]);

    expect((await call('DELETE', `/api/v2/serve/models/${first}`)).status).toBe(200);
    await reaches(second, 'RUNNING');
    keys.push(second);
  });

  it('admits a queued model when a second raylet joins with more GPUs', async () => {
    const waiting = await post('five-gpus', 5); // 4 held of 8
    await eventually(async () => (await modelOf(waiting)).admission !== null, 30_000, 'five-gpus in line');
    await stackAction('add-node', { SECOND_NODE_GPUS: '8' });
    await reaches(waiting, 'RUNNING');
    keys.push(waiting);
  });

  it('refuses a request beyond the user\'s quota with 403, naming it', async () => {
    expect((await call('PUT', '/api/v2/users/dana/quota', JSON.stringify({ max_gpus: 10, max_models: 5 }), 'application/json', ADMIN_TOKEN)).status).toBe(200);
    const over = await call('POST', '/api/v2/serve/models', 'model_id: one-more\nmodel_source: /private/hf/demo/tiny-chat\ngpus_per_replica: 2\n', 'application/yaml');
    expect(over.status).toBe(403);
    expect(over.body.error).toMatchObject({ code: 'quota_exceeded' });
    expect(over.body.error.message).toMatch(/needs 2 GPUs and dana's other models hold 9 of 10/);
    for (const key of keys) expect((await call('DELETE', `/api/v2/serve/models/${key}`)).status).toBe(200);
    for (const key of keys) await reaches(key, 'DELETED');
    await stackAction('kill-node');
  });
});
