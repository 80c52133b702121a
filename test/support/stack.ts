import type { Client } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { AppConfig, loadConfig } from '../../src/config/config';
import { createWorker } from '../../src/worker/createWorker';
import { connectTestServices } from './testServices';

let runtimeInstalled = false;
/** Keeps worker logs to errors: tests fail activities on purpose, and each failure logs a warning. */
export function quietTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/**
 * Configuration for a test: the services scripts/test.sh started (addresses come from the
 * environment it exports), a task queue of the test's own, the engine, and optionally Ray replaced
 * by a double.
 */
export function testConfig(overrides: { rayUrl?: string; readinessTimeoutS?: number; engine?: string } = {}): AppConfig {
  const config = loadConfig({
    ...process.env,
    // The CPU stand-in unless a test asks for the real engine: it starts in a second and can be
    // told to fail.
    ARGUS_ENGINE: overrides.engine ?? process.env.ARGUS_ENGINE ?? 'standin',
    ARGUS_TASK_QUEUE: `test-${randomBytes(4).toString('hex')}`,
    ...(overrides.rayUrl ? { RAY_DASHBOARD_URL: overrides.rayUrl, ARGUS_INGRESS_URL: overrides.rayUrl } : {}),
    ...(overrides.readinessTimeoutS ? { ARGUS_READINESS_TIMEOUT_S: String(overrides.readinessTimeoutS) } : {}),
  });
  if (overrides.rayUrl) config.serving.cluster_id = `double-${randomBytes(3).toString('hex')}`;
  return config;
}

export interface RunningStack {
  config: AppConfig;
  pool: Pool;
  client: Client;
  worker: Worker;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

/** A worker running in this process against real Temporal and Postgres. */
export async function startStack(config: AppConfig, options: { pollIntervalMs?: number } = {}): Promise<RunningStack> {
  quietTemporalRuntime();
  // Each test file starts from empty tables; its workflows from earlier runs have no worker.
  const services = await connectTestServices(config);
  const { pool, client } = services;
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  let worker: Worker;
  let running: Promise<void>;
  const stack: RunningStack = {
    config,
    pool,
    client,
    get worker() {
      return worker;
    },
    async startWorker() {
      worker = await createWorker(config, pool, nativeConnection, { pollIntervalMs: options.pollIntervalMs ?? 200 });
      running = worker.run();
    },
    async stopWorker() {
      worker.shutdown();
      await running;
    },
    async close() {
      await stack.stopWorker();
      await nativeConnection.close();
      await services.close();
    },
  };
  await stack.startWorker();
  return stack;
}

/** Polls until `check` returns a value, or fails with the last value seen. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
