/**
 * F3 API: GET detail and GET list under autocannon with many models and users, next to a bare
 * Express JSON route answering the same bytes. The API runs in its own process, as in production,
 * so the load generator does not share its event loop.
 */
import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RayDouble } from '../test/support/rayDouble';
import { createPool } from '../src/db/pool';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { renderClusterBody } from '../src/ray/clusterLayout';
import { Child, childEnv, portOf, startChild } from './lib/childProcess';
import { cpuMs, measureCpu, postgresPids } from './lib/cpuTime';
import { benchConfig, benchEnv, callApi, createUsers, expectStatus, resetDatabase } from './lib/product';
import { seedRunningModels, SeededModel } from './lib/seed';
import { median, round } from './lib/stats';
import { renderSettingsOf } from '../src/ray/serveConfig';

export interface F3Options {
  runs: number;
  users: number;
  modelsPerUser: number;
  durationS: number;
  warmupS: number;
  connections: number;
  workDir: string;
}

export interface Load {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
  /** CPU the server process and PostgreSQL spent per answered request: where a 2-core machine's time goes. */
  server_cpu_ms_per_request: number;
  postgres_cpu_ms_per_request: number;
}

export interface F3Run {
  detail: Load;
  list: Load;
  baseline: Load;
}

async function load(server: Child, url: string, durationS: number, connections: number, pick: () => { path: string; token: string }): Promise<Load> {
  const pg = () => postgresPids(process.env.STATE_DIR);
  const serverPid = server.process.pid as number;
  const serverCpuBefore = cpuMs(serverPid);
  const { result, cpuMs: pgCpu } = await measureCpu(pg, () => autocannon({
    url,
    connections,
    duration: durationS,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const { path: target, token } = pick();
          return { ...req, path: target, headers: { authorization: `Bearer ${token}` } };
        },
      },
    ],
  }));
  const serverCpu = cpuMs(serverPid) - serverCpuBefore;
  const answered = Math.max(1, result.requests.total);
  return {
    server_cpu_ms_per_request: round(serverCpu / answered, 3),
    postgres_cpu_ms_per_request: round(pgCpu / answered, 3),
    requests_per_s: round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export async function runF3(options: F3Options, log: (line: string) => void): Promise<{ runs: F3Run[]; summary: Record<string, number> }> {
  const ray = new RayDouble();
  await ray.start();
  const env = benchEnv(ray.url);
  const config = benchConfig(ray.url, env);
  const pool = createPool(config.database.url);
  let api: Child | null = null;
  let baseline: Child | null = null;
  try {
    await resetDatabase(pool);
    const userIds = Array.from({ length: options.users }, (_, i) => `reader${i}`);
    const tokens = await createUsers(pool, userIds);
    const render = renderSettingsOf(config);
    const models: SeededModel[] = await seedRunningModels(pool, { userIds, modelsPerUser: options.modelsPerUser, render, clusterId: config.serving.cluster_id });
    // Planner statistics for the freshly loaded tables, as a database in service has them. Without
    // this the load could start before autovacuum analysed them, and the reads be planned as
    // sequential scans of model_events (PostgreSQL CPU per detail tripled in such runs).
    await pool.query('ANALYZE');
    // The cluster serves every model, so the detail route's Serve status has its real size.
    await new RayDashboardClient(ray.url).putServeApplications(renderClusterBody(models.map((m) => m.placement), [], render));
    // BENCH_CPU_PROFILE=1 writes a V8 CPU profile of the API process (read with bench/tools/topFunctions.ts).
    const profile = process.env.BENCH_CPU_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.workDir, 'profiles')}`] : [];
    api = await startChild('processes/api.ts', [], childEnv(env), profile);
    const apiUrl = `http://127.0.0.1:${portOf(api)}`;

    const sample = models[0] as SeededModel;
    const detail = await callApi(`${apiUrl}/api/v2/serve/models/${sample.modelKey}`, 'GET', tokens.get(sample.userId) as string);
    expectStatus(detail, 200, 'GET detail');
    mkdirSync(options.workDir, { recursive: true });
    const bodyFile = path.join(options.workDir, 'detail-body.json');
    writeFileSync(bodyFile, JSON.stringify(detail.body));
    baseline = await startChild('processes/expressBaseline.ts', [bodyFile], childEnv({}));
    const baselineUrl = `http://127.0.0.1:${portOf(baseline)}`;

    const randomModel = () => models[Math.floor(Math.random() * models.length)] as SeededModel;
    const pickDetail = () => {
      const m = randomModel();
      return { path: `/api/v2/serve/models/${m.modelKey}`, token: tokens.get(m.userId) as string };
    };
    const pickList = () => {
      const userId = userIds[Math.floor(Math.random() * userIds.length)] as string;
      return { path: '/api/v2/serve/models', token: tokens.get(userId) as string };
    };
    const pickBaseline = () => ({ path: '/baseline', token: 'none' });
    const apiChild = api;
    const baselineChild = baseline;
    for (const [child, url, pick] of [[apiChild, apiUrl, pickDetail], [apiChild, apiUrl, pickList], [baselineChild, baselineUrl, pickBaseline]] as const) {
      await load(child, url, options.warmupS, options.connections, pick);
    }
    const runs: F3Run[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const result: F3Run = {
        detail: await load(apiChild, apiUrl, options.durationS, options.connections, pickDetail),
        list: await load(apiChild, apiUrl, options.durationS, options.connections, pickList),
        baseline: await load(baselineChild, baselineUrl, options.durationS, options.connections, pickBaseline),
      };
      for (const [name, l] of Object.entries(result)) {
        if (l.non_2xx > 0 || l.errors > 0) throw new Error(`F3 ${name}: ${l.non_2xx} non-2xx answers and ${l.errors} errors`);
      }
      log(
        `F3 run ${run}: detail ${result.detail.requests_per_s} req/s p99 ${result.detail.p99_ms} ms; list ${result.list.requests_per_s} req/s p99 ${result.list.p99_ms} ms; ` +
          `bare Express ${result.baseline.requests_per_s} req/s p99 ${result.baseline.p99_ms} ms`,
      );
      runs.push(result);
    }
    return {
      runs,
      summary: {
        f3_models: models.length,
        f3_users: userIds.length,
        f3_detail_p99_ms: median(runs.map((r) => r.detail.p99_ms)),
        f3_list_p99_ms: median(runs.map((r) => r.list.p99_ms)),
        f3_detail_rps: median(runs.map((r) => r.detail.requests_per_s)),
        f3_list_rps: median(runs.map((r) => r.list.requests_per_s)),
        f3_express_rps: median(runs.map((r) => r.baseline.requests_per_s)),
        f3_detail_vs_express: round(median(runs.map((r) => r.detail.requests_per_s / r.baseline.requests_per_s)), 2),
        f3_detail_api_cpu_ms_per_req: median(runs.map((r) => r.detail.server_cpu_ms_per_request)),
        f3_detail_pg_cpu_ms_per_req: median(runs.map((r) => r.detail.postgres_cpu_ms_per_request)),
        f3_express_cpu_ms_per_req: median(runs.map((r) => r.baseline.server_cpu_ms_per_request)),
      },
    };
  } finally {
    await api?.stop();
    await baseline?.stop();
    await pool.end();
    await ray.stop();
  }
}
