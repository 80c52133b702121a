/**
 * F2 storm: many models from several users POSTed at once against the Ray double, until every one
 * is RUNNING. Counts the PUTs the cluster received: a burst of requests must not become a burst of
 * cluster rewrites.
 */
import { performance } from 'node:perf_hooks';
import { Agent } from 'undici';
import { RayDouble } from '../test/support/rayDouble';
import type { ModelState } from '../src/domain/lifecycle';
import { benchConfig, callApi, createUsers, expectStatus, resetDatabase, startProduct } from './lib/product';
import { median, round, sleep } from './lib/stats';
import { measureTemporalStormFloor } from './lib/temporalFloor';
import { cpuMs, postgresPids } from './lib/cpuTime';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { CpuProfileSummary, profileCpu } from './lib/cpuProfile';
import path from 'node:path';

export interface F2Options {
  runs: number;
  users: number;
  modelsPerUser: number;
  timeoutMs: number;
  /** Where each run's raw CPU profile is written. */
  workDir: string;
}

export interface F2Run {
  models: number;
  total_s: number;
  put_count: number;
  /** Seconds until every POST was acknowledged (202). */
  accepted_s: number;
  /** POSTs answered 503 (the workflow did not acknowledge within the API's deadline) and retried. */
  post_503: number;
  /** CPU seconds each service used from the first POST until every model was RUNNING: where the storm's time went. */
  cpu_s: Record<string, number>;
  /** Where this process's (API, worker, double, clients) main thread spent the storm. */
  cpu_profile: CpuProfileSummary;
  /** As many no-op workflows of a rollout's shape started at once, on the same Temporal server. */
  temporal_floor: Record<string, number>;
}

/**
 * A storm is bound by the work of its rollouts rather than by one critical path: each first deploy
 * runs six activities (three of them alongside others, see F1), so the floor runs five in a row.
 */
const ROLLOUT_ACTIVITIES = 5;

const LIST_POLL_MS = 50;
const MAX_POST_ATTEMPTS = 5;
/** What the API's 503 answers carry in Retry-After. */
const RETRY_AFTER_MS = 5_000;
/** Connections each user's client keeps open to the API. */
const CONNECTIONS_PER_USER = 5;
const PROGRESS_EVERY_MS = 30_000;

/** The Temporal dev server the bench profile started (scripts/stack.sh writes its pid). */
function temporalPid(): number | null {
  const file = path.join(process.env.STATE_DIR ?? '', 'temporal.pid');
  return process.env.STATE_DIR && existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : null;
}

/**
 * CPU time of the storm's processes: the Temporal dev server, PostgreSQL (all its backends) and
 * this one, which holds the API, the worker, the Ray double and the clients.
 */
function cpuSnapshot(): Record<string, number> {
  const temporal = temporalPid();
  const own = process.cpuUsage();
  return {
    temporal_server: temporal ? cpuMs(temporal) / 1000 : 0,
    postgres: postgresPids(process.env.STATE_DIR).reduce((sum, pid) => sum + cpuMs(pid), 0) / 1000,
    api_worker_double_and_clients: (own.user + own.system) / 1e6,
  };
}

export async function runF2(options: F2Options, log: (line: string) => void): Promise<{ runs: F2Run[]; summary: Record<string, number> }> {
  const runs: F2Run[] = [];
  for (let run = 1; run <= options.runs; run++) {
    const ray = new RayDouble();
    ray.faults.startDelayMs = 0;
    await ray.start();
    const product = await startProduct(benchConfig(ray.url));
    const clients = new Map<string, Agent>();
    let progress: ReturnType<typeof setInterval> | undefined;
    try {
      await resetDatabase(product.pool);
      const userIds = Array.from({ length: options.users }, (_, i) => `storm${i}`);
      const tokens = await createUsers(product.pool, userIds);
      // Each user's client keeps a few connections, as an HTTP client library does. With one per
      // request (1,000 at once) some connects timed out after 10 s, most likely SYNs dropped from a
      // full accept backlog and retried by the kernel after 1, 3 and 7 s (not traced).
      for (const userId of userIds) clients.set(userId, new Agent({ connections: CONNECTIONS_PER_USER }));
      const requests = userIds.flatMap((userId) => Array.from({ length: options.modelsPerUser }, (_, i) => ({ userId, suffix: `m${i}` })));
      const started = performance.now();
      const cpuBefore = cpuSnapshot();
      const cpuSince = () => Object.fromEntries(Object.entries(cpuSnapshot()).map(([name, s]) => [name, round(s - (cpuBefore[name] ?? 0), 1)]));
      let acceptedAt = 0;
      let unavailable = 0;
      let accepted = 0;
      /** Counted once every POST is accepted (the list is polled only then). */
      let running: number | null = null;
      progress = setInterval(
        () => log(`F2:   after ${round((performance.now() - started) / 1000)} s: ${accepted} accepted, ${running === null ? '' : `${running} RUNNING, `}${unavailable} POSTs answered 503; CPU s ${JSON.stringify(cpuSince())}`),
        PROGRESS_EVERY_MS,
      );
      let cpuProfile: CpuProfileSummary | undefined;
      mkdirSync(options.workDir, { recursive: true });
      const profileFile = path.join(options.workDir, `f2-run${run}.cpuprofile`);
      const storm = async () => {
        await Promise.all(
          requests.map(async ({ userId, suffix }) => {
            // A well-behaved client retries a 503 after Retry-After: a POST of the same model_id is idempotent.
            for (let attempt = 1; ; attempt++) {
              const ack = await callApi(`${product.apiUrl}/api/v2/serve/models`, 'POST', tokens.get(userId) as string, {
                type: 'application/yaml',
                text: `model_id: ${suffix}\nmodel_source: /private/hf/demo/tiny-chat\n`,
              }, clients.get(userId));
              if (ack.status === 503 && attempt < MAX_POST_ATTEMPTS) {
                unavailable += 1;
                await sleep(RETRY_AFTER_MS);
                continue;
              }
              expectStatus(ack, 202, `POST ${userId}/${suffix}`);
              break;
            }
            accepted += 1;
            acceptedAt = Math.max(acceptedAt, performance.now());
          }),
        );
        for (;;) {
          const states = await Promise.all(
            userIds.map(async (userId) => {
              const list = await callApi(`${product.apiUrl}/api/v2/serve/models`, 'GET', tokens.get(userId) as string, undefined, clients.get(userId));
              expectStatus(list, 200, 'GET list');
              return (list.body as { items: Array<{ state: ModelState }> }).items.map((m) => m.state);
            }),
          );
          const flat = states.flat();
          running = flat.filter((s) => s === 'RUNNING').length;
          if (flat.includes('FAILED')) throw new Error('a model FAILED against the double');
          if (flat.length === requests.length && running === requests.length) break;
          if (performance.now() - started > options.timeoutMs) {
            throw new Error(`storm: ${running}/${requests.length} RUNNING after ${options.timeoutMs} ms (${flat.length} models listed, ${unavailable} POSTs answered 503); CPU s ${JSON.stringify(cpuSince())}`);
          }
          await sleep(LIST_POLL_MS);
        }
      };
      await profileCpu(profileFile, storm, (profile) => {
        cpuProfile = profile;
        log(`F2 run ${run}: where this process's time went (${profileFile}): ${JSON.stringify(profile)}`);
      });
      clearInterval(progress);
      const cpuS = cpuSince();
      const result: F2Run = {
        models: requests.length,
        total_s: round((performance.now() - started) / 1000, 2),
        cpu_s: cpuS,
        cpu_profile: cpuProfile as CpuProfileSummary,
        put_count: ray.puts.length,
        accepted_s: round((acceptedAt - started) / 1000, 2),
        post_503: unavailable,
        temporal_floor: await measureTemporalStormFloor(product.client, product.config.temporal.address, requests.length, ROLLOUT_ACTIVITIES),
      };
      log(
        `F2 run ${run}: ${result.models} models RUNNING in ${result.total_s} s (all accepted after ${result.accepted_s} s, ${result.post_503} POSTs answered 503 and retried), ${result.put_count} PUTs; ` +
          `CPU s during the storm ${JSON.stringify(cpuS)}; ` +
          `Temporal floor: ${result.models} no-op workflows of ${ROLLOUT_ACTIVITIES} activities ${result.temporal_floor.regular_s} s, as local activities ${result.temporal_floor.local_s} s`,
      );
      runs.push(result);
    } finally {
      clearInterval(progress);
      await Promise.all([...clients.values()].map((client) => client.close()));
      await product.close();
      await ray.stop();
    }
  }
  return {
    runs,
    summary: {
      f2_models: runs[0]?.models ?? 0,
      f2_total_s: round(median(runs.map((r) => r.total_s)), 2),
      f2_put_count: median(runs.map((r) => r.put_count)),
      f2_post_503: median(runs.map((r) => r.post_503)),
      f2_temporal_floor_s: round(median(runs.map((r) => r.temporal_floor.regular_s as number)), 2),
      f2_temporal_floor_local_s: round(median(runs.map((r) => r.temporal_floor.local_s as number)), 2),
    },
  };
}
