import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { type Dispatcher, request } from 'undici';
import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { AppConfig, loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import { ensureUser, issueToken } from '../../src/db/users';
import { createWorker } from '../../src/worker/createWorker';
import { startClusterWorkflows } from '../../src/worker/startClusterWorkflows';

export const ADMIN_TOKEN = 'benchmark-admin-token-0123456789';

let runtimeInstalled = false;
/** Worker logs down to errors: a benchmark's output is its figures. */
export function quietTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/**
 * The product's configuration for one benchmark run: the services scripts/bench.sh started (from
 * the environment), a task queue and cluster id of the run's own, Ray at `rayUrl`, no rate limit.
 */
export function benchConfig(rayUrl: string, overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({ ...process.env, ...benchEnv(rayUrl, overrides) });
}

/** The environment overrides behind benchConfig, for a product process of its own. */
export function benchEnv(rayUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  const run = randomBytes(3).toString('hex');
  return {
    ARGUS_TASK_QUEUE: `bench-${run}`,
    ARGUS_CLUSTER_ID: `bench-${run}`,
    RAY_DASHBOARD_URL: rayUrl,
    ARGUS_INGRESS_URL: rayUrl,
    ARGUS_RATE_LIMIT_PER_MINUTE: '0',
    ARGUS_ADMIN_TOKEN: ADMIN_TOKEN,
    ...overrides,
  };
}

/** Empties every table: each run starts from the same database. */
export async function resetDatabase(pool: Pool): Promise<void> {
  await pool.query('TRUNCATE cluster_models, model_observations, cluster_observations, cluster_events, model_events, models, api_tokens, users CASCADE');
}

/** Creates the users and one token each; returns user id -> token. */
export async function createUsers(pool: Pool, userIds: readonly string[]): Promise<Map<string, string>> {
  await ensureUser(pool, ADMIN_USER_ID, true);
  const tokens = new Map<string, string>();
  for (const userId of userIds) {
    await ensureUser(pool, userId);
    tokens.set(userId, (await issueToken(pool, userId)).token);
  }
  return tokens;
}

export interface RunningProduct {
  config: AppConfig;
  pool: Pool;
  client: Client;
  apiUrl: string;
  close(): Promise<void>;
}

/**
 * The API and a worker in this process, wired as src/api/main.ts and src/worker/main.ts wire them
 * (default poll interval and worker options, a pool each). `worker: false` runs the API alone.
 */
export async function startProduct(config: AppConfig, options: { worker?: boolean } = {}): Promise<RunningProduct> {
  quietTemporalRuntime();
  // The API and the worker are separate processes in production, each with its own pool.
  const pool = createPool(config.database.url);
  const workerPool = createPool(config.database.url);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  let worker: Worker | null = null;
  let nativeConnection: NativeConnection | null = null;
  let running: Promise<void> = Promise.resolve();
  if (options.worker !== false) {
    nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
    worker = await createWorker(config, workerPool, nativeConnection);
    running = worker.run();
    // As src/worker/main.ts: the cluster's layout migration (ends at once when no model is left in the single-app layout).
    await startClusterWorkflows(config).catch((err: Error) => process.stderr.write(`could not start the cluster workflows: ${err.message}\n`));
  }
  const server = await new Promise<Server>((resolve) => {
    const s = createApp({ config, pool, temporal: client, adminToken: ADMIN_TOKEN }).listen(0, '127.0.0.1', () => resolve(s));
  });
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    config,
    pool,
    client,
    apiUrl,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (worker) {
        worker.shutdown();
        await running;
      }
      await nativeConnection?.close();
      await connection.close();
      await Promise.all([pool.end(), workerPool.end()]);
    },
  };
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** One API call as a client makes it (undici keeps connections alive, as a real client would). */
export async function callApi(
  url: string,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  token: string,
  body?: { type: string; text: string },
  dispatcher?: Dispatcher,
): Promise<ApiAnswer> {
  const response = await request(url, {
    method,
    dispatcher,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': body.type } : {}) },
    body: body?.text,
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text ? (JSON.parse(text) as unknown) : null };
}

export function expectStatus(answer: ApiAnswer, status: number, what: string): void {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
}
