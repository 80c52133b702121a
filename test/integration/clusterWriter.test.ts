import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { applyModelToClusterActivity, ApplyInput } from '../../src/activities/applyModelToCluster';
import type { ActivityDependencies } from '../../src/activities/dependencies';
import { loadConfig } from '../../src/config/config';
import { listClusterEntries } from '../../src/db/clusterModels';
import { insertModel } from '../../src/db/models';
import { createPool } from '../../src/db/pool';
import { ensureUser } from '../../src/db/users';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { IngressClient } from '../../src/ray/ingressClient';
import { RayDouble } from '../support/rayDouble';
import { eventually } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * The cluster's single writer against real Postgres and the Ray double: concurrent applies are
 * group-committed into few PUTs, and a config Ray refuses fails only its own model.
 */
let pool: Pool;
let ray: RayDouble;
let deps: ActivityDependencies;


async function newModel(suffix: string): Promise<{ modelKey: string; modelId: string }> {
  const modelKey = `svc-writer-20261123-000000-${randomBytes(2).toString('hex')}`;
  await insertModel(pool, { modelKey, userId: 'writer', suffix: `${suffix}-${modelKey.slice(-4)}`, prefix: 'writer-202611230000', spec: spec(suffix), createdAt: new Date() });
  return { modelKey, modelId: `writer-202611230000-${suffix}` };
}

// Failures are asserted here; the activity's own failure log would only be noise.
const quiet = new DefaultLogger('ERROR');
const apply = (input: ApplyInput): Promise<{ models_on_cluster: number }> => new MockActivityEnvironment(undefined, { logger: quiet }).run(applyModelToClusterActivity(deps), input);

beforeAll(async () => {
  const config = loadConfig();
  pool = createPool(config.database.url, 20);
  await ensureUser(pool, 'writer');
  ray = new RayDouble();
  await ray.start();
});
afterAll(async () => {
  await ray?.stop();
  await pool?.end();
});
beforeEach(() => {
  const config = loadConfig();
  deps = {
    pool,
    dashboard: new RayDashboardClient(ray.url),
    ingress: new IngressClient(ray.url),
    clusterId: `writer-${randomBytes(3).toString('hex')}`,
    render: { appName: config.serving.app_name, storageRoot: '/srv/storage', acceleratorType: 'H20', serverCls: null },
    pollIntervalMs: 50,
  };
  ray.faults.rejectedModels.clear();
  ray.faults.putStatus = null;
});

describe('the single cluster writer', () => {
  it('group-commits concurrent applies into far fewer PUTs, each carrying every model', async () => {
    ray.addForeignApp({ name: 'someone_elses_app', import_path: 'their.module:app' });
    const models = await Promise.all(Array.from({ length: 8 }, (_, i) => newModel(`batch${i}`)));
    const putsBefore = ray.puts.length;
    const results = await Promise.all(models.map((m) => apply({ ...m, spec: spec(m.modelId), rolloutMarker: 'r1' })));

    const puts = ray.puts.slice(putsBefore);
    expect(puts.length).toBeGreaterThanOrEqual(1);
    expect(puts.length).toBeLessThanOrEqual(3);
    expect(ray.modelIds().sort()).toEqual(models.map((m) => m.modelId).sort());
    expect(ray.appNames()).toContain('someone_elses_app');
    // Every PUT is a complete view: it never drops a model an earlier PUT carried, nor the foreign app.
    for (const [i, put] of puts.entries()) {
      expect(put.map((a) => a.name)).toContain('someone_elses_app');
      const ids = put.flatMap((a) => (a.args?.llm_configs ?? []).map((c) => c.model_loading_config.model_id));
      const earlier = i === 0 ? [] : (puts[i - 1] ?? []).flatMap((a) => (a.args?.llm_configs ?? []).map((c) => c.model_loading_config.model_id));
      expect(ids).toEqual(expect.arrayContaining(earlier));
    }
    expect(results.every((r) => r.models_on_cluster >= 1)).toBe(true);
    const entries = await listClusterEntries(pool, deps.clusterId);
    expect(entries.every((e) => e.settledGeneration === e.generation && e.rejectedGeneration === null)).toBe(true);
  });

  it('an apply whose entry another writer already PUT returns without a PUT of its own', async () => {
    const [a, b] = await Promise.all([newModel('early'), newModel('late')]);
    deps.applyGatherMs = 300;
    const putsBefore = ray.puts.length;
    await Promise.all([
      apply({ ...a!, spec: spec('early'), rolloutMarker: 'r1' }),
      new Promise((r) => setTimeout(r, 20)).then(() => apply({ ...b!, spec: spec('late'), rolloutMarker: 'r1' })),
    ]);
    expect(ray.puts.length - putsBefore).toBe(1);
    expect(ray.modelIds()).toEqual(expect.arrayContaining([a!.modelId, b!.modelId]));
  });

  it('when Ray refuses a batch, fails only the refused model and lands its neighbours', async () => {
    const good1 = await newModel('good1');
    const good2 = await newModel('good2');
    const bad = await newModel('bad');
    ray.faults.rejectedModels.add(bad.modelId);
    const rejectedBefore = ray.rejectedPuts;
    const settled = await Promise.allSettled([good1, bad, good2].map((m) => apply({ ...m, spec: spec(m.modelId), rolloutMarker: 'r1' })));

    expect(settled[0]?.status).toBe('fulfilled');
    expect(settled[2]?.status).toBe('fulfilled');
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: { type: 'RayConfigRejected', nonRetryable: true } });
    expect(String((settled[1] as PromiseRejectedResult).reason.message)).toMatch(/Ray answered 400.*bad/);
    expect(ray.rejectedPuts).toBeGreaterThan(rejectedBefore);
    expect(ray.modelIds()).toEqual(expect.arrayContaining([good1.modelId, good2.modelId]));
    expect(ray.modelIds()).not.toContain(bad.modelId);
    // The refused config is out of the desired set, so the next writer is not blocked by it.
    const entries = await listClusterEntries(pool, deps.clusterId);
    expect(entries.find((e) => e.modelKey === bad.modelKey)?.modelConfig).toBeNull();
    const next = await newModel('after-bad');
    await apply({ ...next, spec: spec('after-bad'), rolloutMarker: 'r1' });
    expect(ray.modelIds()).toContain(next.modelId);
  });

  it('a refused change to a running model falls back to the config Ray last accepted', async () => {
    const model = await newModel('changing');
    await apply({ ...model, spec: spec('changing'), rolloutMarker: 'r1' });
    ray.faults.putStatus = { status: 400, remaining: 1 };
    await expect(apply({ ...model, spec: spec('changing', { num_replicas: 3 }), rolloutMarker: 'r2' })).rejects.toMatchObject({ type: 'RayConfigRejected' });
    const entry = (await listClusterEntries(pool, deps.clusterId)).find((e) => e.modelKey === model.modelKey);
    expect(entry?.modelConfig).toEqual(entry?.appliedConfig);
    expect(entry?.modelConfig?.deployment?.ray_actor_options.runtime_env.env_vars.ARGUS_MODEL_REVISION).toBe('r1');
  });

  it('leaves an entry pending through a transient failure; the retry lands it', async () => {
    const model = await newModel('transient');
    ray.faults.putStatus = { status: 503, remaining: 1 };
    await expect(apply({ ...model, spec: spec('transient'), rolloutMarker: 'r1' })).rejects.toMatchObject({ status: 503 });
    const pending = (await listClusterEntries(pool, deps.clusterId)).find((e) => e.modelKey === model.modelKey);
    expect(pending!.generation).toBeGreaterThan(pending!.settledGeneration);
    await apply({ ...model, spec: spec('transient'), rolloutMarker: 'r1' });
    expect(ray.modelIds()).toContain(model.modelId);
  });

  it('removes a model with a PUT that keeps every other model, and drops its entry', async () => {
    const keep = await newModel('keep');
    const gone = await newModel('gone');
    await Promise.all([keep, gone].map((m) => apply({ ...m, spec: spec(m.modelId), rolloutMarker: 'r1' })));
    await apply({ ...gone, spec: null, rolloutMarker: 'removed' });
    expect(ray.modelIds()).toContain(keep.modelId);
    expect(ray.modelIds()).not.toContain(gone.modelId);
    await eventually(async () => !(await listClusterEntries(pool, deps.clusterId)).some((e) => e.modelKey === gone.modelKey), 2_000, 'entry dropped');
  });
});
