import type { Pool } from 'pg';
import type { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import type { ModelState } from '../../src/domain/lifecycle';
import type { RayDouble } from '../support/rayDouble';
import { testSpec as spec } from '../support/servingSpecs';
import { useDoubleStack } from '../support/doubleStack';
import { eventually, type RunningStack } from '../support/stack';

/**
 * Revisions without downtime, against real Temporal and Postgres with the Ray double (which
 * keeps each app's replica ids, and can fail or crowd out one checkpoint): a redefinition starts
 * beside the serving revision, traffic switches once it is ready, and the old app goes; a new
 * revision that fails costs nothing; with no room for both, the rollout replaces in place and says so.
 */
const env = useDoubleStack();
let ray: RayDouble;
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
beforeAll(() => {
  ({ ray, stack, commands } = env);
  pool = stack.pool;
  stack.config.serving.surge_wait_s = 2;
});

const stateOf = async (key: string) => (await getModel(pool, key))?.state;
const eventsOf = (key: string) => listEvents(pool, key);
const eventTypes = async (key: string) => (await eventsOf(key)).map((e) => e.eventType);
const reaches = (key: string, state: ModelState, after: (types: string[]) => boolean = () => true) =>
  eventually(async () => (await stateOf(key)) === state && after(await eventTypes(key)), 60_000, `${key} to reach ${state}`).catch(async (err: Error) => {
    throw new Error(`${err.message}; it is ${await stateOf(key)} after events ${(await eventTypes(key)).join(', ')}`);
  });
const appsOf = (key: string) => ray.appNames().filter((name) => name.includes(`--${key}--`));

/** Watches the double while a change runs: the serving app's replica ids and whether the model is ever without a routed, healthy app. */
function watchServing(key: string, modelId: string) {
  const seen: Array<{ routedApp: string | null; apps: string[] }> = [];
  const timer = setInterval(() => {
    const route = ray.ingressRoutes()?.find((r) => r.model_id === modelId);
    seen.push({ routedApp: route?.app_name ?? null, apps: appsOf(key) });
  }, 20);
  return { seen, stop: () => clearInterval(timer) };
}

describe('blue/green revisions', () => {
  it('a redefinition starts beside the serving revision, switches traffic once ready, then removes the old app', async () => {
    const ack = await commands.deploy('alice', spec('qwen-0.5b'));
    await reaches(ack.model_key, 'RUNNING');
    const modelId = (await getModel(pool, ack.model_key))!.prefix + '-qwen-0.5b';
    const [oldApp] = appsOf(ack.model_key);
    expect(oldApp).toBe(`${stack.config.serving.app_name}--${ack.model_key}--r1`);
    const oldReplicas = ray.replicaIds()[`${oldApp}/${modelId}`];

    const watch = watchServing(ack.model_key, modelId);
    ray.faults.holdReady.add('qwen-0.5b'); // the new revision stays starting until the test has looked
    const redefined = await commands.deploy('alice', spec('qwen-0.5b', { engine_kwargs: { max_model_len: 4096 } }));
    expect(redefined).toMatchObject({ revision: 2, changed: true });
    await eventually(async () => appsOf(ack.model_key).length === 2, 20_000, 'the new revision beside the old one');
    // While the new revision starts, the old one still serves with the same replicas.
    expect(ray.ingressRoutes()?.find((r) => r.model_id === modelId)?.app_name).toBe(oldApp);
    expect(ray.replicaIds()[`${oldApp}/${modelId}`]).toEqual(oldReplicas);
    ray.faults.holdReady.clear();

    await reaches(ack.model_key, 'RUNNING', (types) => types.includes('REVISION_RETIRED'));
    watch.stop();
    const types = await eventTypes(ack.model_key);
    expect(types.slice(types.lastIndexOf('DEPLOY_REQUESTED')).filter((t) => t !== 'READINESS_PROGRESS')).toEqual([
      'DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'REVISION_READY', 'TRAFFIC_SWITCHED', 'REVISION_RETIRED', 'RUNNING',
    ]);
    const started = (await eventsOf(ack.model_key)).filter((e) => e.eventType === 'APPLY_STARTED').pop();
    expect(started?.payload).toMatchObject({ strategy: 'blue-green', serving_revision: 1 });
    expect(appsOf(ack.model_key)).toEqual([`${stack.config.serving.app_name}--${ack.model_key}--r2`]);
    // Never a moment without a routed app, and the old app stayed until traffic had moved.
    expect(watch.seen.every((s) => s.routedApp !== null && s.apps.includes(s.routedApp))).toBe(true);
    expect(watch.seen.some((s) => s.routedApp === oldApp && s.apps.length === 2)).toBe(true);
  });

  it('a new revision that fails is discarded and the serving one never stopped: RUNNING, with the reason', async () => {
    const ack = await commands.deploy('alice', spec('llama3.1-8b'));
    await reaches(ack.model_key, 'RUNNING');
    const modelId = (await getModel(pool, ack.model_key))!.prefix + '-llama3.1-8b';
    const [oldApp] = appsOf(ack.model_key);
    const oldReplicas = ray.replicaIds()[`${oldApp}/${modelId}`];
    ray.faults.failingSources.add('/broken-model');
    const watch = watchServing(ack.model_key, modelId);
    await commands.deploy('alice', spec('llama3.1-8b', { model_source: '/private/hf/demo/broken-model' }));
    await reaches(ack.model_key, 'RUNNING', (types) => types.includes('ROLLED_BACK'));
    watch.stop();
    ray.faults.failingSources.clear();
    const types = await eventTypes(ack.model_key);
    expect(types.slice(types.lastIndexOf('DEPLOY_REQUESTED'))).toEqual(expect.arrayContaining(['DEPLOY_FAILED', 'REVISION_DISCARDED', 'ROLLED_BACK']));
    expect(types).not.toContain('TRAFFIC_SWITCHED');
    const row = await getModel(pool, ack.model_key);
    expect(row?.errorSummary).toMatch(/revision 2 \(deploy\) failed and was discarded; revision 1 served throughout: .*config\.json/);
    expect(row?.spec.model_source).toBe('/private/hf/demo/tiny-chat');
    expect(appsOf(ack.model_key)).toEqual([oldApp]);
    expect(ray.replicaIds()[`${oldApp}/${modelId}`]).toEqual(oldReplicas);
    expect(watch.seen.every((s) => s.routedApp === oldApp)).toBe(true);
  });

  it('with no room for both revisions, falls back to replacing in place and says so', async () => {
    const ack = await commands.deploy('alice', spec('big'));
    await reaches(ack.model_key, 'RUNNING');
    const [oldApp] = appsOf(ack.model_key);
    ray.faults.noRoomBesideSources.add('/hf/demo/tiny-chat-v2');
    await commands.deploy('alice', spec('big', { model_source: '/private/hf/demo/tiny-chat-v2' }));
    await reaches(ack.model_key, 'RUNNING', (types) => types.includes('SURGE_UNAVAILABLE'));
    ray.faults.noRoomBesideSources.clear();
    const events = await eventsOf(ack.model_key);
    const surge = events.find((e) => e.eventType === 'SURGE_UNAVAILABLE');
    expect(surge?.payload).toMatchObject({ revision: 2, surge_wait_s: 2 });
    const after = events.slice(events.indexOf(surge!)).map((e) => e.eventType);
    expect(after).toEqual(expect.arrayContaining(['APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING']));
    // Replaced in place: the model's one app (the old name) now runs the new checkpoint.
    expect(appsOf(ack.model_key)).toEqual([oldApp]);
    expect((await getModel(pool, ack.model_key))?.spec.model_source).toBe('/private/hf/demo/tiny-chat-v2');
  });

  it('a scale stays in place: same app, the replicas it had are kept', async () => {
    const ack = await commands.deploy('alice', spec('scaled'));
    await reaches(ack.model_key, 'RUNNING');
    const modelId = (await getModel(pool, ack.model_key))!.prefix + '-scaled';
    const [app] = appsOf(ack.model_key);
    const before = ray.replicaIds()[`${app}/${modelId}`]!;
    await commands.scale(ack.model_key, 3);
    await reaches(ack.model_key, 'RUNNING', (types) => types.filter((t) => t === 'RUNNING').length === 2);
    expect(appsOf(ack.model_key)).toEqual([app]);
    const after = ray.replicaIds()[`${app}/${modelId}`]!;
    expect(after).toHaveLength(3);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(await eventTypes(ack.model_key)).not.toContain('TRAFFIC_SWITCHED');
  });
});
