import type { Pool } from 'pg';
import { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * The failure paths of blue/green on a real Ray node (stand-in engine, 8 logical GPUs, as scripts/profile.sh starts it): a new
 * revision whose checkpoint is broken is discarded while the serving one answers every chat, and a
 * redefinition the cluster has no room for beside the serving revision (Ray reports its replicas
 * unscheduled) falls back to replacing the model in place, and says so.
 */
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
let dashboard: RayDashboardClient;

beforeAll(async () => {
  const config = testConfig();
  config.serving.surge_wait_s = 1; // fall back as soon as Ray reports the new revision's replicas unscheduled
  dashboard = new RayDashboardClient(config.serving.ray_dashboard_url);
  await dashboard.putServeApplications({ applications: [] });
  stack = await startStack(config, { pollIntervalMs: 300 });
  commands = new ModelCommands(stack.pool, stack.client, stack.config);
  pool = stack.pool;
});
afterAll(async () => {
  await stack?.close();
  await dashboard?.putServeApplications({ applications: [] }).catch(() => undefined);
});

const reaches = (key: string, check: (types: string[]) => boolean, what: string) =>
  eventually(async () => (await getModel(pool, key))?.state === 'RUNNING' && check((await listEvents(pool, key)).map((e) => e.eventType)), 180_000, what);
const appsOf = async (key: string) => Object.keys((await dashboard.getServeDetails()).applications).filter((n) => n.includes(`--${key}--`));
async function chat(modelId: string): Promise<number> {
  const response = await fetch(`${stack.config.serving.ingress_url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    signal: AbortSignal.timeout(20_000),
  }).catch(() => null);
  await response?.text();
  return response?.status ?? 0;
}

it('discards a new revision that cannot start; the serving revision answers every chat meanwhile', async () => {
  const ack = await commands.deploy('alice', spec('qwen-0.5b'));
  await reaches(ack.model_key, () => true, 'qwen-0.5b RUNNING');
  const modelId = `${(await getModel(pool, ack.model_key))!.prefix}-qwen-0.5b`;
  const [serving] = await appsOf(ack.model_key);
  await commands.deploy('alice', spec('qwen-0.5b', { model_source: '/private/hf/demo/broken-model' }));
  const chats: number[] = [];
  await eventually(async () => {
    chats.push(await chat(modelId));
    return (await listEvents(pool, ack.model_key)).some((e) => e.eventType === 'ROLLED_BACK');
  }, 180_000, 'the broken revision to be discarded');
  await reaches(ack.model_key, (types) => types.includes('REVISION_DISCARDED'), 'RUNNING again');
  expect(chats.length).toBeGreaterThan(5);
  expect(chats.filter((status) => status !== 200)).toEqual([]);
  expect(await appsOf(ack.model_key)).toEqual([serving]);
  const row = await getModel(pool, ack.model_key);
  expect(row?.errorSummary).toMatch(/revision 2 \(deploy\) failed and was discarded; revision 1 served throughout: .*config\.json/);
  expect(row?.spec.model_source).toBe('/private/hf/demo/tiny-chat');
});

it('falls back to replacing in place when the cluster cannot hold both revisions', async () => {
  // 4 GPUs per replica on a node of 8 where the first test's model holds 1: no room for a second copy.
  const ack = await commands.deploy('bob', spec('llama3.1-8b', { gpus_per_replica: 4 }));
  await reaches(ack.model_key, () => true, 'llama3.1-8b RUNNING');
  const [app] = await appsOf(ack.model_key);
  await commands.deploy('bob', spec('llama3.1-8b', { gpus_per_replica: 4, engine_kwargs: { standin_load_delay_s: 1 } }));
  await reaches(ack.model_key, (types) => types.includes('SURGE_UNAVAILABLE') && types.lastIndexOf('RUNNING') > types.indexOf('SURGE_UNAVAILABLE'), 'RUNNING after replacing in place');
  const events = await listEvents(pool, ack.model_key);
  const progress = events.filter((e) => e.eventType === 'READINESS_PROGRESS').map((e) => String(e.payload.message));
  expect(progress.join('\n')).toMatch(/waiting for 4 GPUs/);
  // The candidate that could not be placed was dropped with the in-place PUT; Ray takes a moment to delete it.
  await eventually(async () => JSON.stringify(await appsOf(ack.model_key)) === JSON.stringify([app]), 30_000, 'only the replaced app to be left');
  expect((await getModel(pool, ack.model_key))?.spec.engine_kwargs).toEqual({ standin_load_delay_s: 1 });
  expect(await chat(`${(await getModel(pool, ack.model_key))!.prefix}-llama3.1-8b`)).toBe(200);
});
