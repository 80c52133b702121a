/**
 * F1 overhead: POST -> RUNNING as a client sees it through GET, against the in-process Ray double
 * answering at once, next to a baseline that does only the raw work of a rollout directly (the
 * same database writes, one PUT, the status GET and the readiness probe) with the product's own
 * database and Ray clients. Samples alternate product / baseline so both see the same machine.
 */
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import { RayDouble } from '../test/support/rayDouble';
import { listClusterEntries, markEntriesApplied, writeClusterEntry, withClusterLock } from '../src/db/clusterModels';
import { insertModel, recordEvent } from '../src/db/models';
import type { ModelState } from '../src/domain/lifecycle';
import { modelIdPrefix, newModelKey, publicModelId } from '../src/domain/naming';
import { validateServingSpec } from '../src/domain/servingSpec';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { IngressClient } from '../src/ray/ingressClient';
import { isManagedApp, renderClusterBody } from '../src/ray/clusterLayout';
import { nextPlacement } from '../src/ray/modelPlacement';
import { type RenderSettings, renderSettingsOf } from '../src/ray/serveConfig';
import { assessModel } from '../src/ray/serveStatus';
import { benchConfig, callApi, createUsers, expectStatus, resetDatabase, RunningProduct, startProduct } from './lib/product';
import { median, percentile, round, sleep } from './lib/stats';
import { measureTemporalFloor } from './lib/temporalFloor';

export interface F1Options {
  runs: number;
  samplesPerRun: number;
  warmupSamples: number;
}

export interface F1Run {
  product_p50_ms: number;
  product_p99_ms: number;
  raw_p50_ms: number;
  raw_p99_ms: number;
  ratio: number;
  /** Median time from POST to each event row, and to the GET that saw RUNNING. */
  phases_ms: Record<string, number>;
  /** The same number of sequential no-op activities, on the same Temporal server: the floor under the product's figure. */
  temporal_floor: Record<string, number>;
}

/**
 * Activities one after another on a first deploy's critical path: the apply, the readiness watch,
 * RUNNING. (DEPLOY_REQUESTED, APPLY_STARTED and APPLY_SUCCEEDED are recorded alongside.)
 */
const ROLLOUT_ACTIVITIES = 3;

const USER = 'f1user';
const SOURCE = '/private/hf/demo/tiny-chat';
/** How often the client polls GET: fine enough not to hide the overhead being measured. */
const GET_POLL_MS = 5;
const SAMPLE_TIMEOUT_MS = 60_000;

interface ProductSample {
  ms: number;
  modelKey: string;
  /** Wall clock of the POST, to place the event rows (Postgres runs on this machine). */
  postedAt: number;
}

/** One model through the product: POST, then GET until RUNNING. Returns ms and the model key. */
async function productSample(product: RunningProduct, token: string, suffix: string): Promise<ProductSample> {
  const postedAt = Date.now();
  const started = performance.now();
  const ack = await callApi(`${product.apiUrl}/api/v2/serve/models`, 'POST', token, { type: 'application/yaml', text: `model_id: ${suffix}\nmodel_source: ${SOURCE}\n` });
  expectStatus(ack, 202, 'POST model');
  const modelKey = (ack.body as { model_key: string }).model_key;
  for (;;) {
    const got = await callApi(`${product.apiUrl}/api/v2/serve/models/${modelKey}`, 'GET', token);
    expectStatus(got, 200, 'GET model');
    const state = (got.body as { model: { state: ModelState } }).model.state;
    if (state === 'RUNNING') return { ms: performance.now() - started, modelKey, postedAt };
    if (state === 'FAILED') throw new Error(`model ${modelKey} FAILED against the double`);
    if (performance.now() - started > SAMPLE_TIMEOUT_MS) throw new Error(`model ${modelKey} not RUNNING within ${SAMPLE_TIMEOUT_MS} ms`);
    await sleep(GET_POLL_MS);
  }
}

interface RawDeps {
  pool: Pool;
  clusterId: string;
  dashboard: RayDashboardClient;
  ingress: IngressClient;
  render: RenderSettings;
}

/** The same rollout done by hand: what any control plane must do at least once. */
async function rawSample(deps: RawDeps, suffix: string): Promise<number> {
  const spec = validateServingSpec({ model_id: suffix, model_source: SOURCE }, { userId: USER, allowStandInKnobs: true });
  const started = performance.now();
  const now = new Date();
  const modelKey = newModelKey(USER, now);
  const modelId = publicModelId(modelIdPrefix(USER, now), suffix);
  let seq = 0;
  const record = (eventType: 'DEPLOY_REQUESTED' | 'APPLY_STARTED' | 'APPLY_SUCCEEDED' | 'RUNNING', state: ModelState) =>
    recordEvent(deps.pool, { modelKey, seq: ++seq, eventType, payload: { revision: 1 } }, { state, revision: 1, spec, errorSummary: null });
  if (!(await insertModel(deps.pool, { modelKey, userId: USER, suffix, prefix: modelIdPrefix(USER, now), spec, createdAt: now }))) throw new Error('model key taken');
  await record('DEPLOY_REQUESTED', 'QUEUED');
  await record('APPLY_STARTED', 'DEPLOYING');
  // The model's own app (what the product ships), the ingress routing to it, every other model's app.
  const placement = nextPlacement(null, 'replace', { modelKey, modelId, spec, marker: 'r1' }, deps.render);
  const app = placement.apps[0] as (typeof placement.apps)[number];
  await withClusterLock(deps.pool, deps.clusterId, async (client) => {
    await writeClusterEntry(client, deps.clusterId, modelKey, placement);
    const entries = await listClusterEntries(client, deps.clusterId);
    const desired = entries.flatMap((e) => (e.modelConfig ? [e.modelConfig] : []));
    const foreignApps = await deps.dashboard.getForeignApplications((name) => isManagedApp(name, deps.render));
    await deps.dashboard.putServeApplications(renderClusterBody(desired, foreignApps, deps.render));
    await markEntriesApplied(client, deps.clusterId, entries);
  });
  await record('APPLY_SUCCEEDED', 'DEPLOYING');
  for (;;) {
    const details = await deps.dashboard.getDeploymentDetails(app.app_name, app.deployment.name);
    const assessment = assessModel(details, app.app_name, app.deployment.name, 1, 'r1');
    if (assessment.phase === 'healthy') break;
    if (assessment.phase === 'failed') throw new Error(assessment.message);
    await sleep(GET_POLL_MS);
  }
  if (!(await deps.ingress.listsModel(modelId)).ok) throw new Error('baseline: model not listed');
  if (!(await deps.ingress.answersChat(modelId)).ok) throw new Error('baseline: chat not answered');
  await record('RUNNING', 'RUNNING');
  return performance.now() - started;
}

/** Median milliseconds from the POST to each event row and to the GET that saw RUNNING: where the time goes. */
async function phases(pool: Pool, samples: ProductSample[]): Promise<Record<string, number>> {
  const modelKeys = samples.map((s) => s.modelKey);
  const rows = await pool.query<{ model_key: string; event_type: string; at_ms: number }>(
    `SELECT model_key, event_type, (extract(epoch from created_at) * 1000)::float8 AS at_ms FROM model_events WHERE model_key = ANY($1) ORDER BY model_key, seq`,
    [modelKeys],
  );
  const byModel = new Map<string, Array<{ event_type: string; at_ms: number }>>();
  for (const row of rows.rows) byModel.set(row.model_key, [...(byModel.get(row.model_key) ?? []), row]);
  const gaps = new Map<string, number[]>();
  const add = (name: string, ms: number) => gaps.set(name, [...(gaps.get(name) ?? []), ms]);
  for (const sample of samples) {
    for (const event of byModel.get(sample.modelKey) ?? []) add(`POST->${event.event_type}`, event.at_ms - sample.postedAt);
    add('POST->GET sees RUNNING', sample.ms);
  }
  return Object.fromEntries([...gaps].map(([name, values]) => [name, round(median(values))]));
}

export async function runF1(options: F1Options, log: (line: string) => void): Promise<{ runs: F1Run[]; summary: Record<string, number> }> {
  const runs: F1Run[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const productRay = new RayDouble();
    const rawRay = new RayDouble();
    productRay.faults.startDelayMs = 0;
    rawRay.faults.startDelayMs = 0;
    await productRay.start();
    await rawRay.start();
    const config = benchConfig(productRay.url);
    const product = await startProduct(config);
    try {
      await resetDatabase(product.pool);
      const token = (await createUsers(product.pool, [USER])).get(USER) as string;
      const raw: RawDeps = {
        pool: product.pool,
        clusterId: `${config.serving.cluster_id}-raw`,
        dashboard: new RayDashboardClient(rawRay.url),
        ingress: new IngressClient(rawRay.url),
        render: renderSettingsOf(config),
      };
      const productSamples: ProductSample[] = [];
      const rawSamples: number[] = [];
      for (let i = 0; i < options.warmupSamples + options.samplesPerRun; i++) {
        const p = await productSample(product, token, `p${run}-${i}`);
        const r = await rawSample(raw, `r${run}-${i}`);
        if (i >= options.warmupSamples) {
          productSamples.push(p);
          rawSamples.push(r);
        }
      }
      const productMs = productSamples.map((s) => s.ms);
      const result: F1Run = {
        product_p50_ms: round(median(productMs)),
        product_p99_ms: round(percentile(productMs, 99)),
        raw_p50_ms: round(median(rawSamples)),
        raw_p99_ms: round(percentile(rawSamples, 99)),
        ratio: round(median(productMs) / median(rawSamples), 2),
        phases_ms: await phases(product.pool, productSamples),
        temporal_floor: await measureTemporalFloor(product.client, config.temporal.address, ROLLOUT_ACTIVITIES, options.samplesPerRun),
      };
      log(`F1 run ${run}: product p50 ${result.product_p50_ms} ms p99 ${result.product_p99_ms} ms; raw p50 ${result.raw_p50_ms} ms; ratio ${result.ratio}; Temporal floor (${ROLLOUT_ACTIVITIES} no-op activities) p50 ${result.temporal_floor.regular_p50_ms} ms, as local activities ${result.temporal_floor.local_p50_ms} ms`);
      runs.push(result);
    } finally {
      await product.close();
      await productRay.stop();
      await rawRay.stop();
    }
  }
  return {
    runs,
    summary: {
      f1_p50_ms: round(median(runs.map((r) => r.product_p50_ms))),
      f1_p99_ms: round(median(runs.map((r) => r.product_p99_ms))),
      f1_raw_p50_ms: round(median(runs.map((r) => r.raw_p50_ms))),
      f1_overhead_ratio: round(median(runs.map((r) => r.ratio)), 2),
      f1_temporal_floor_p50_ms: round(median(runs.map((r) => r.temporal_floor.regular_p50_ms as number))),
      f1_temporal_floor_local_p50_ms: round(median(runs.map((r) => r.temporal_floor.local_p50_ms as number))),
    },
  };
}
