import type { ModelPlacement } from '../../src/ray/modelPlacement';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { applyModelToClusterActivity, ApplyInput } from '../../src/activities/applyModelToCluster';
import type { ActivityDependencies } from '../../src/activities/dependencies';
import { loadConfig } from '../../src/config/config';
import { countModelsOnTheirWay, listClusterEntries, writeClusterEntry } from '../../src/db/clusterModels';
import { insertModel, recordEvent } from '../../src/db/models';
import { createPool } from '../../src/db/pool';
import { ensureUser } from '../../src/db/users';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { IngressClient } from '../../src/ray/ingressClient';
import { modelIdsInPut, RayDouble } from '../support/rayDouble';
import { eventually } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';
import { STOCK_VLLM_ENGINE } from '../../src/ray/serveConfig';

/**
 * The cluster's single writer against real Postgres and the Ray double: concurrent applies are
 * group-committed into few PUTs, and a config Ray refuses fails only its own model.
 */
let pool: Pool;
let ray: RayDouble;
let deps: ActivityDependencies;
/** This test's models: the gather counts only these as on their way (other suites share the database). */
let ownKeys: string[];


async function newModel(suffix: string): Promise<{ modelKey: string; modelId: string }> {
  const modelKey = `svc-writer-20261123-000000-${randomBytes(2).toString('hex')}`;
  await insertModel(pool, { modelKey, userId: 'writer', suffix: `${suffix}-${modelKey.slice(-4)}`, prefix: 'writer-202611230000', spec: spec(suffix), createdAt: new Date() });
  ownKeys.push(modelKey);
  return { modelKey, modelId: `writer-202611230000-${suffix}` };
}

// Failures are asserted here; the activity's own failure log would only be noise.
const quiet = new DefaultLogger('ERROR');
/** As the workflow does just before an apply: records APPLY_STARTED, which moves the model from QUEUED to DEPLOYING. */
const seqs = new Map<string, number>();
async function markDeploying(modelKey: string): Promise<void> {
  const seq = (seqs.get(modelKey) ?? 0) + 1;
  seqs.set(modelKey, seq);
  await recordEvent(pool, { modelKey, seq, eventType: 'APPLY_STARTED', payload: {} }, { state: 'DEPLOYING', revision: 1, spec: spec('any'), errorSummary: null });
}
const apply = async (input: ApplyInput): Promise<{ models_on_cluster: number }> => {
  await markDeploying(input.modelKey);
  return new MockActivityEnvironment(undefined, { logger: quiet }).run(applyModelToClusterActivity(deps), input);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    render: { appName: config.serving.app_name, storageRoot: '/srv/storage', acceleratorType: 'H20', engine: STOCK_VLLM_ENGINE },
    pollIntervalMs: 50,
    changesOnTheirWay: (waiting) => countModelsOnTheirWay(pool, { clusterId: deps.clusterId, excluding: waiting, among: ownKeys }),
  };
  ownKeys = [];
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
      const ids = modelIdsInPut(put);
      const earlier = i === 0 ? [] : modelIdsInPut(puts[i - 1] ?? []);
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
    // The scale was refused, so the model's app keeps the replica count Ray last accepted.
    const placement = entry?.modelConfig as ModelPlacement;
    expect(placement.apps.map((a) => a.deployment.autoscaling_config.min_replicas)).toEqual([1]);
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

describe('gathering changes on their way into one PUT', () => {
  it('a lone apply PUTs at once: nothing is on its way, so it does not wait for the bound', async () => {
    deps.applyGatherMs = 60_000; // waiting for the bound would outlast this test's timeout
    const model = await newModel('alone');
    const putsBefore = ray.puts.length;
    await apply({ ...model, spec: spec('alone'), rolloutMarker: 'r1' });
    expect(ray.puts.length - putsBefore).toBe(1);
    expect(ray.modelIds()).toContain(model.modelId);
  }, 20_000);

  it('applies arriving one by one while their neighbours are QUEUED share one or two PUTs', async () => {
    deps.applyGatherMs = 10_000;
    const models = await Promise.all(Array.from({ length: 10 }, (_, i) => newModel(`trickle${i}`)));
    const putsBefore = ray.puts.length;
    // 10 applies 100 ms apart: wider apart than any fixed batching window, well inside the bound.
    await Promise.all(models.map((m, i) => sleep(i * 100).then(() => apply({ ...m, spec: spec(m.modelId), rolloutMarker: 'r1' }))));
    const puts = ray.puts.length - putsBefore;
    expect(puts).toBeGreaterThanOrEqual(1);
    expect(puts).toBeLessThanOrEqual(2);
    expect(ray.modelIds()).toEqual(expect.arrayContaining(models.map((m) => m.modelId)));
    const entries = await listClusterEntries(pool, deps.clusterId);
    expect(entries).toHaveLength(10);
    expect(entries.every((e) => e.settledGeneration === e.generation)).toBe(true);
  });

  it('a model stuck in QUEUED holds an apply no longer than the bound', async () => {
    deps.applyGatherMs = 800;
    await newModel('stuck'); // accepted, but its workflow never starts the apply
    const model = await newModel('moving');
    const putsBefore = ray.puts.length;
    const started = Date.now();
    await apply({ ...model, spec: spec('moving'), rolloutMarker: 'r1' });
    // It did wait for the stuck model (a change on its way), then PUT without it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(ray.puts.length - putsBefore).toBe(1);
    expect(ray.modelIds()).toContain(model.modelId);
  }, 20_000);

  it('a failed flush fails every apply that shared it, leaves their entries pending, and the retries land them', async () => {
    const models = await Promise.all(Array.from({ length: 3 }, (_, i) => newModel(`shared-fail${i}`)));
    // A bound no loaded machine reaches before all three have joined the round (each apply writes
    // its entry in a short transaction first); the round closes as soon as none is on its way.
    deps.applyGatherMs = 5_000;
    ray.faults.putStatus = { status: 503, remaining: 1 };
    const settled = await Promise.allSettled(models.map((m) => apply({ ...m, spec: spec(m.modelId), rolloutMarker: 'r1' })));
    // Usually all three share the failed PUT. On a loaded machine one may still miss the round and
    // go out, with the others' entries, in the next PUT, which succeeds: it alone then succeeds.
    const failed = models.filter((_, i) => settled[i]?.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const result of settled) if (result.status === 'rejected') expect((result.reason as { status?: number }).status).toBe(503);
    if (failed.length === models.length) {
      const pending = await listClusterEntries(pool, deps.clusterId);
      expect(pending.filter((e) => models.some((m) => m.modelKey === e.modelKey)).every((e) => e.generation > e.settledGeneration)).toBe(true);
    }
    await Promise.all(failed.map((m) => apply({ ...m, spec: spec(m.modelId), rolloutMarker: 'r1' })));
    expect(ray.modelIds()).toEqual(expect.arrayContaining(models.map((m) => m.modelId)));
  });

  it('counts as on their way models accepted or starting their apply, recently, until their entry is written', async () => {
    const [queued, starting, written, stale, waiting] = await Promise.all(['queued', 'starting', 'written', 'stale', 'waiting'].map((s) => newModel(s)));
    const count = (excluding: string[]) => countModelsOnTheirWay(pool, { clusterId: deps.clusterId, excluding, among: ownKeys });
    await markDeploying(starting!.modelKey);
    await markDeploying(written!.modelKey);
    await writeClusterEntry(pool, deps.clusterId, written!.modelKey, null);
    await pool.query("UPDATE models SET updated_at = now() - interval '5 minutes' WHERE model_key = $1", [stale!.modelKey]);
    // queued (accepted) and starting (APPLY_STARTED, no entry yet); not written, stale, nor the waiting one.
    expect(await count([waiting!.modelKey])).toBe(2);
    expect(await count([waiting!.modelKey, queued!.modelKey])).toBe(1);
    await writeClusterEntry(pool, deps.clusterId, starting!.modelKey, null);
    expect(await count([waiting!.modelKey, queued!.modelKey])).toBe(0);
    expect(await count([])).toBe(2); // queued and waiting
    // A model further on (readiness progress after its apply) is not on its way.
    await recordEvent(pool, { modelKey: starting!.modelKey, seq: 2, eventType: 'READINESS_PROGRESS', payload: {} }, { state: 'DEPLOYING', revision: 1, spec: spec('any'), errorSummary: null });
    expect(await count([waiting!.modelKey, queued!.modelKey])).toBe(0);
  });
});
