/**
 * F4 scale: thousands of live RUNNING model workflows shared by worker processes on one task
 * queue. Measures each worker's memory, how long a scale request of a random model takes to reach
 * RUNNING among them, and how long after a worker crash (one of them killed with SIGKILL and
 * started again) every model answers its query again.
 *
 * The models are seeded as RUNNING: database rows and the cluster's desired set as their rollouts
 * would have left them, the Ray double serving all of them, and each workflow started from the
 * snapshot it carries across continue-as-new (the path every long-lived model takes). How models
 * get to RUNNING under load is F2's subject; here it would only add a quadratic warm-up.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { RayDouble } from '../test/support/rayDouble';
import { createPool } from '../src/db/pool';
import type { ModelState } from '../src/domain/lifecycle';
import type { Pool } from 'pg';
import { request } from 'undici';
import { listClusterEntries, listDesiredEntries } from '../src/db/clusterModels';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { IngressClient } from '../src/ray/ingressClient';
import { isManagedApp, isPlacement, renderClusterBody } from '../src/ray/clusterLayout';
import { routedApp } from '../src/ray/modelPlacement';
import { type RenderSettings, renderSettingsOf } from '../src/ray/serveConfig';
import { serveDetailsSchema } from '../src/ray/serveStatus';
import { modelQuery } from '../src/workflows/messages';
import type { modelWorkflow } from '../src/workflows/modelWorkflow';
import { MODEL_ID, MODEL_STATE, USER_ID, workflowIdFor } from '../src/workflows/searchAttributes';
import { Child, childEnv, startChild } from './lib/childProcess';
import { benchConfig, benchEnv, callApi, createUsers, expectStatus, resetDatabase, startProduct } from './lib/product';
import { seedRunningModels, SeededModel } from './lib/seed';
import type { AppConfig } from '../src/config/config';
import { startClusterWorkflows } from '../src/worker/startClusterWorkflows';
import { clusterReconcilerWorkflowId } from '../src/workflows/clusterReconcilerWorkflow';
import { measureTemporalFloor } from './lib/temporalFloor';
import { mapLimit, percentile, median, round, sleep } from './lib/stats';

export interface F4Options {
  users: number;
  modelsPerUser: number;
  /** Worker processes polling the one task queue. */
  workers: number;
  scaleSamples: number;
  recoveries: number;
  /** Seconds after which no further recovery is started (make bench must stay well under 30 minutes). */
  budgetS: number;
  /** Requests in flight while starting and querying workflows. */
  concurrency: number;
  /** Seconds of each window the reconciler's cost is measured over (without it, then with it). */
  reconcileWindowS: number;
}

/** The pause between the reconciler's passes in F4: the platform default. */
const RECONCILE_INTERVAL_S = 5;

const POLL_MS = 20;
const SCALE_TIMEOUT_MS = 120_000;
const RECOVERY_TIMEOUT_MS = 600_000;

/**
 * What keeping every model watched costs: the worker's CPU and Ray status reads in a window with
 * every model idle, first without the reconciler, then with it (its first pass, which writes an
 * observation for every model, timed apart).
 */
async function measureReconciler(config: AppConfig, pool: Pool, ray: RayDouble, workers: Child[], models: number, windowS: number, log: (line: string) => void) {
  // The workers' CPU together: the reconciler runs on whichever worker takes its tasks.
  const cpuSeconds = () => workers.reduce((sum, w) => sum + w.cpuSeconds(), 0);
  const window = async () => {
    const reads = ray.statusReads;
    const cpu = cpuSeconds();
    await sleep(windowS * 1000);
    return { readsPerMin: ((ray.statusReads - reads) * 60) / windowS, cpuPct: ((cpuSeconds() - cpu) * 100) / windowS };
  };
  const idle = await window();
  const startedAt = performance.now();
  await startClusterWorkflows({ ...config, serving: { ...config.serving, reconcile: { ...config.serving.reconcile, interval_s: RECONCILE_INTERVAL_S } } });
  for (;;) {
    const observed = await pool.query<{ n: string }>('SELECT count(*) AS n FROM model_observations WHERE cluster_id = $1', [config.serving.cluster_id]);
    if (Number(observed.rows[0]?.n) >= models) break;
    if (performance.now() - startedAt > 300_000) throw new Error('the reconciler did not observe every model within 5 minutes');
    await sleep(100);
  }
  const firstPassS = (performance.now() - startedAt) / 1000;
  const watched = await window();
  const summary = {
    f4_reconcile_first_pass_s: round(firstPassS),
    f4_reconcile_reads_per_min: round(watched.readsPerMin),
    f4_reconcile_worker_cpu_pct: round(watched.cpuPct),
    f4_idle_worker_cpu_pct: round(idle.cpuPct),
  };
  log(`F4: reconciler at ${models} models, a pass every ${RECONCILE_INTERVAL_S} s: first pass (an observation per model) ${round(firstPassS)} s; then ${round(watched.readsPerMin)} status reads/min, workers' CPU ${round(watched.cpuPct)} % of a core (${round(idle.cpuPct)} % without it, ${round(idle.readsPerMin)} reads/min)`);
  return summary;
}

/** Queries every model until each answers; returns seconds from `since`. */
async function queryAll(client: Client, models: SeededModel[], concurrency: number, since: number, log: (line: string) => void): Promise<number> {
  let answered = 0;
  const progress = setInterval(() => log(`F4:   ${answered}/${models.length} answered after ${round((performance.now() - since) / 1000)} s`), 30_000);
  await mapLimit(models, concurrency, async (m) => {
    for (;;) {
      try {
        const view = await client.workflow.getHandle(workflowIdFor(m.modelKey)).query(modelQuery);
        if (view.model_key !== m.modelKey) throw new Error(`query of ${m.modelKey} answered for ${view.model_key}`);
        answered += 1;
        return;
      } catch (err) {
        if (performance.now() - since > RECOVERY_TIMEOUT_MS) throw err;
        await sleep(200);
      }
    }
  }).finally(() => clearInterval(progress));
  return (performance.now() - since) / 1000;
}

/** When each event of one rollout was recorded, in ms after `sinceWallMs`: where a slow scale spent its time. */
async function stepTimes(pool: Pool, modelKey: string, sinceWallMs: number): Promise<Record<string, number>> {
  const rows = await pool.query<{ event_type: string; at_ms: number }>(
    `SELECT event_type, (extract(epoch from created_at) * 1000)::float8 AS at_ms FROM model_events
      WHERE model_key = $1 AND created_at >= to_timestamp($2 / 1000.0) ORDER BY seq`,
    [modelKey, sinceWallMs],
  );
  return Object.fromEntries(rows.rows.map((r) => [`request->${r.event_type}`, r.at_ms - sinceWallMs]));
}

/**
 * The I/O one scale rollout does, each step timed alone with the product's own clients (median of
 * 5): the Serve status reads (the cluster writer's, for the foreign apps, and the readiness
 * check's, for one deployment; the whole parse and the bare JSON.parse beside them), the desired
 * set read, one PUT of every model, and the ingress probes. Explains the scale figure.
 */
async function profileScaleSteps(pool: Pool, clusterId: string, rayUrl: string, render: RenderSettings): Promise<Record<string, number>> {
  const dashboard = new RayDashboardClient(rayUrl, 120_000);
  const ingress = new IngressClient(rayUrl);
  const timed = async (work: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await work();
      ms.push(performance.now() - started);
    }
    return round(median(ms));
  };
  const desired = (await listClusterEntries(pool, clusterId)).flatMap((e) => (e.modelConfig && isPlacement(e.modelConfig) ? [e.modelConfig] : []));
  const body = renderClusterBody(desired, [], render);
  // A scale's PUT differs from what the cluster runs in one model's override; an identical PUT
  // is a no-op (on Ray and on the double), so the timed PUTs alternate between two such bodies.
  const rescaled = structuredClone(desired);
  const firstPlacement = rescaled[0];
  if (!firstPlacement) throw new Error('F4: no model in the desired set');
  const first = routedApp(firstPlacement);
  first.deployment.autoscaling_config = { min_replicas: 2, max_replicas: 2, initial_replicas: 2 };
  const changedBody = renderClusterBody(rescaled, [], render);
  let puts = 0;
  const anyModel = firstPlacement.model_id;
  const anyApp = routedApp(desired[0] as (typeof desired)[number]);
  const statusBody = await (await request(`${rayUrl}/api/serve/applications/`)).body.text();
  const profile = {
    get_serve_status_and_parse: await timed(() => dashboard.getServeDetails()),
    serve_status_bytes: statusBody.length,
    // The product's share of the status read: JSON and schema parsing in the worker, without the double's rendering.
    parse_serve_status_only: await timed(async () => serveDetailsSchema.parse(JSON.parse(statusBody))),
    // What a rollout now reads: one deployment (readiness) and the foreign apps (writer), each after JSON.parse.
    get_one_deployment: await timed(() => dashboard.getDeploymentDetails(anyApp.app_name, anyApp.deployment.name)),
    get_foreign_apps: await timed(() => dashboard.getForeignApplications((name) => isManagedApp(name, render))),
    json_parse_serve_status_only: await timed(async () => JSON.parse(statusBody)),
    read_desired_set: await timed(() => listClusterEntries(pool, clusterId)),
    read_desired_configs_only: await timed(() => listDesiredEntries(pool, clusterId)),
    put_all_models_one_changed: await timed(() => dashboard.putServeApplications((puts++ % 2 === 0 ? changedBody : body))),
    list_v1_models: await timed(() => ingress.listsModel(anyModel)),
    one_token_chat: await timed(() => ingress.answersChat(anyModel)),
  };
  // Leaves the cluster as the desired set says (the alternation may end on the changed body).
  await dashboard.putServeApplications(body);
  return profile;
}

export async function runF4(options: F4Options, log: (line: string) => void): Promise<{ summary: Record<string, number>; scale_ms: number[]; scale_steps_ms: Record<string, number>; temporal_floor_ms: Record<string, number>; scale_profile_ms: Record<string, number>; worker_ready_s: number[]; recover_s: number[]; rss_mb: Array<{ at_s: number; rss_mb: number; phase: string; worker: number }> }> {
  const ray = new RayDouble();
  ray.faults.startDelayMs = 0;
  await ray.start();
  // The worker does not start the reconciler itself: its cost is measured against a window without it.
  const env = benchEnv(ray.url, { ARGUS_RECONCILE_INTERVAL_S: '0' });
  const config = benchConfig(ray.url, env);
  const pool = createPool(config.database.url);
  const api = await startProduct(config, { worker: false });
  const workers: Child[] = [];
  const rss: Array<{ at_s: number; rss_mb: number; phase: string; worker: number }> = [];
  const t0 = performance.now();
  let phase = 'starting';
  const sampler = setInterval(() => {
    workers.forEach((w, index) => {
      try {
        const mb = w.rssMb();
        // A process that has just exited has no VmRSS line any more.
        if (Number.isFinite(mb)) rss.push({ at_s: round((performance.now() - t0) / 1000), rss_mb: round(mb), phase, worker: index });
      } catch {
        // the worker is between processes
      }
    });
  }, 1_000);
  const startWorker = () => startChild('processes/worker.ts', [], childEnv(env));
  const largestRss = () => Math.max(...workers.map((w) => w.rssMb()));
  try {
    await resetDatabase(pool);
    const userIds = Array.from({ length: options.users }, (_, i) => `fleet${i}`);
    const tokens = await createUsers(pool, userIds);
    const render = renderSettingsOf(config);
    const models = await seedRunningModels(pool, { userIds, modelsPerUser: options.modelsPerUser, render, clusterId: config.serving.cluster_id });
    await new RayDashboardClient(ray.url, 120_000).putServeApplications(renderClusterBody(models.map((m) => m.placement), [], render));
    for (let i = 0; i < options.workers; i++) workers.push(await startWorker());
    log(`F4: ${models.length} models seeded; ${workers.length} workers started (rss ${workers.map((w) => round(w.rssMb())).join(', ')} MiB)`);

    phase = 'starting workflows';
    const startedAt = performance.now();
    await mapLimit(models, options.concurrency, (m) =>
      api.client.workflow.start<typeof modelWorkflow>('modelWorkflow', {
        workflowId: workflowIdFor(m.modelKey),
        taskQueue: config.temporal.task_queue,
        args: [{ modelKey: m.modelKey, modelId: m.modelId, userId: m.userId, initialSpec: m.spec, defaultReadinessTimeoutS: config.serving.readiness_timeout_s, carried: m.snapshot }],
        typedSearchAttributes: [
          { key: USER_ID, value: m.userId },
          { key: MODEL_ID, value: m.modelId },
          { key: MODEL_STATE, value: 'RUNNING' },
        ],
      }),
    );
    const startS = (performance.now() - startedAt) / 1000;
    const firstAnswerS = await queryAll(api.client, models, options.concurrency, startedAt, log);
    phase = 'all live';
    await sleep(3_000);
    const liveRss = largestRss();
    log(`F4: ${models.length} workflows started in ${round(startS)} s, all answering their query after ${round(firstAnswerS)} s; workers' rss ${workers.map((w) => round(w.rssMb())).join(', ')} MiB`);

    phase = 'reconciling';
    const reconcile = await measureReconciler(config, pool, ray, workers, models.length, options.reconcileWindowS, log);

    phase = 'scaling';
    /** One scale of a random model to a replica count no model has yet (so RUNNING at that count is this rollout's end). */
    const scaleOnce = async (replicas: number) => {
      const m = models[Math.floor(Math.random() * models.length)] as SeededModel;
      const token = tokens.get(m.userId) as string;
      const started = performance.now();
      const startedWallMs = Date.now();
      const ack = await callApi(`${api.apiUrl}/api/v2/serve/models/${m.modelKey}`, 'PATCH', token, { type: 'application/json', text: JSON.stringify({ num_replicas: replicas }) });
      expectStatus(ack, 200, 'PATCH scale');
      for (;;) {
        const got = await callApi(`${api.apiUrl}/api/v2/serve/models`, 'GET', token);
        expectStatus(got, 200, 'GET list');
        const row = (got.body as { items: Array<{ model_key: string; state: ModelState; num_replicas: number }> }).items.find((x) => x.model_key === m.modelKey);
        if (row?.state === 'RUNNING' && row.num_replicas === replicas) break;
        if (row?.state === 'FAILED') throw new Error(`scale of ${m.modelKey} FAILED`);
        if (performance.now() - started > SCALE_TIMEOUT_MS) throw new Error(`scale of ${m.modelKey} not RUNNING within ${SCALE_TIMEOUT_MS} ms`);
        await sleep(POLL_MS);
      }
      return { ms: performance.now() - started, modelKey: m.modelKey, startedWallMs };
    };
    // The first scale is the worker's first activity of any kind (the seeded models never ran
    // one): its database connections, its Ray client and the compiled code of the apply path
    // are made then. It is reported apart (f4_first_scale_ms), not among the samples.
    const firstScaleMs = (await scaleOnce(2)).ms;
    const scaleMs: number[] = [];
    const scaleSteps = new Map<string, number[]>();
    for (let i = 0; i < options.scaleSamples; i++) {
      const sample = await scaleOnce(3 + i);
      scaleMs.push(sample.ms);
      for (const [step, ms] of Object.entries(await stepTimes(pool, sample.modelKey, sample.startedWallMs))) scaleSteps.set(step, [...(scaleSteps.get(step) ?? []), ms]);
    }
    // The same scales with the reconciler stopped: what its status reads cost a rollout.
    await api.client.workflow.getHandle(clusterReconcilerWorkflowId(config.serving.cluster_id)).terminate('F4: scales without the reconciler');
    const unwatchedScaleMs: number[] = [];
    for (let i = 0; i < options.scaleSamples; i++) unwatchedScaleMs.push((await scaleOnce(3 + options.scaleSamples + i)).ms);
    log(`F4: the same scales without the reconciler: p50 ${round(median(unwatchedScaleMs))} ms, p99 ${round(percentile(unwatchedScaleMs, 99))} ms`);
    const scaleStepsMs = Object.fromEntries([...scaleSteps].map(([step, values]) => [step, round(median(values))]));
    log(`F4: median time from the scale request to each recorded step: ${JSON.stringify(scaleStepsMs)}`);
    log(`F4: scale -> RUNNING p50 ${round(median(scaleMs))} ms, p99 ${round(percentile(scaleMs, 99))} ms over ${scaleMs.length} random models (the first scale, apart: ${round(firstScaleMs)} ms)`);
    // The same sequential no-op activities as F1's floor (a scale's critical path has the same
    // three), on this server with every model live: what Temporal alone costs a rollout at this size.
    const temporalFloor = await measureTemporalFloor(api.client, config.temporal.address, 3, 10);
    log(`F4: Temporal floor with ${models.length} live workflows: ${JSON.stringify(temporalFloor)}`);

    const recoverS: number[] = [];
    /** Seconds from the crash until the new worker process polls (start-up and workflow bundling). */
    const workerReadyS: number[] = [];
    for (let i = 0; i < options.recoveries; i++) {
      if (i > 0 && (performance.now() - t0) / 1000 > options.budgetS) {
        log(`F4: ${round((performance.now() - t0) / 1000)} s spent, over the ${options.budgetS} s budget: no further recovery run`);
        break;
      }
      phase = 'recovering';
      // A crash of one worker (no orderly shutdown); its workflows' next tasks go to the other
      // worker or to its restarted self once their sticky queue times out.
      const victim = i % workers.length;
      const crashedAt = performance.now();
      await (workers[victim] as Child).stop('SIGKILL');
      workers[victim] = await startWorker();
      const readyS = (performance.now() - crashedAt) / 1000;
      const s = await queryAll(api.client, models, options.concurrency, crashedAt, log);
      recoverS.push(s);
      workerReadyS.push(readyS);
      log(`F4: worker ${victim} killed and restarted; polling after ${round(readyS)} s, every model answered its query after ${round(s)} s (rss ${workers.map((w) => round(w.rssMb())).join(', ')} MiB)`);
    }
    // For comparison, one orderly restart: a worker that shuts down cleanly hands its sticky
    // queues back, so the queries need not wait for the sticky queue's schedule-to-start timeout.
    phase = 'restarting cleanly';
    const stoppedAt = performance.now();
    await (workers[0] as Child).stop('SIGTERM');
    workers[0] = await startWorker();
    const cleanRestartS = await queryAll(api.client, models, options.concurrency, stoppedAt, log);
    log(`F4: worker 0 stopped cleanly and restarted; every model answered its query after ${round(cleanRestartS)} s`);
    phase = 'recovered';
    // Last, after the targets are measured: at 10,000 models the double once reset a connection
    // in the middle of these whole-cluster reads, which then ended F4 before its recovery runs.
    let scaleProfile: Record<string, number> = {};
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        scaleProfile = await profileScaleSteps(pool, config.serving.cluster_id, ray.url, render);
        log(`F4: what one scale's I/O costs with ${models.length} models: ${JSON.stringify(scaleProfile)}`);
        break;
      } catch (err) {
        log(`F4: profile of one scale's I/O, attempt ${attempt}, failed: ${(err as Error).message}`);
      }
    }
    const peak = Math.max(...rss.map((r) => r.rss_mb));
    return {
      summary: {
        f4_workflows: models.length,
        f4_workers: workers.length,
        f4_start_s: round(startS),
        f4_worker_rss_mb: round(liveRss),
        f4_worker_peak_rss_mb: round(peak),
        f4_scale_p50_ms: round(median(scaleMs)),
        f4_scale_p99_ms: round(percentile(scaleMs, 99)),
        f4_first_scale_ms: round(firstScaleMs),
        f4_recover_s: round(median(recoverS)),
        f4_clean_restart_s: round(cleanRestartS),
        ...reconcile,
        f4_scale_p50_without_reconciler_ms: round(median(unwatchedScaleMs)),
        f4_scale_p99_without_reconciler_ms: round(percentile(unwatchedScaleMs, 99)),
      },
      scale_ms: scaleMs.map((x) => round(x)),
      scale_steps_ms: scaleStepsMs,
      temporal_floor_ms: temporalFloor,
      scale_profile_ms: scaleProfile,
      recover_s: recoverS.map((x) => round(x, 2)),
      worker_ready_s: workerReadyS.map((x) => round(x, 2)),
      rss_mb: rss,
    };
  } finally {
    clearInterval(sampler);
    await Promise.all(workers.map((w) => w.stop()));
    await api.close();
    await pool.end();
    await ray.stop();
  }
}
