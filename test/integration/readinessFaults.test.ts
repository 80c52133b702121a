import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { ActivityDependencies } from '../../src/activities/dependencies';
import { WatchReadinessInput, WatchReadinessResult, watchReadinessActivity } from '../../src/activities/readiness';
import { loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import type { ServingSpec } from '../../src/domain/servingSpec';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { IngressClient } from '../../src/ray/ingressClient';
import { renderSingleAppBody, renderManagedApplication, renderModelConfig } from '../../src/ray/singleAppLayout';
import { RayDouble } from '../support/rayDouble';
import { STOCK_VLLM_ENGINE } from '../../src/ray/serveConfig';

/**
 * The readiness watch against the faults the Ray double injects: a dashboard too slow to
 * answer, 500s, a dashboard restart, a model turning UNHEALTHY mid-flight, a failed start.
 * Transient trouble shows up as progress (the rollout keeps waiting); only Ray failing the
 * deployment, or the deadline, fails it.
 */
let ray: RayDouble;
let pool: Pool;
let deps: ActivityDependencies;
const MODEL = 'alice-202611230000-faulty';
const spec: ServingSpec = { model_id_suffix: 'faulty', model_source: '/private/hf/demo/tiny-chat', num_replicas: 1, gpus_per_replica: 1, engine_kwargs: {}, readiness_timeout_s: null };
const render = { appName: 'argus_llm_app', storageRoot: '/srv/storage', acceleratorType: 'H20', engine: STOCK_VLLM_ENGINE };
const quiet = new DefaultLogger('ERROR');

const watch = (overrides: Partial<WatchReadinessInput> = {}): Promise<WatchReadinessResult> =>
  new MockActivityEnvironment(undefined, { logger: quiet }).run(watchReadinessActivity(deps), {
    modelId: MODEL,
    targetReplicas: 1,
    rolloutMarker: 'r1',
    deadlineMs: Date.now() + 20_000,
    lastProgress: null,
    maxWatchMs: 5_000,
    ...overrides,
  });

/** Watches the way the workflow does: again and again, passing back the last progress, until ready. */
async function watchUntilReady(): Promise<string[]> {
  const messages: string[] = [];
  let last: WatchReadinessResult['progress'] | null = null;
  for (let i = 0; i < 50; i++) {
    const result = await watch({ lastProgress: last });
    messages.push(result.progress.message);
    if (result.ready) return messages;
    last = result.progress;
  }
  throw new Error(`never ready: ${messages.join(' | ')}`);
}

async function deploy(marker = 'r1'): Promise<void> {
  const body = renderSingleAppBody(renderManagedApplication(render.appName, [renderModelConfig(MODEL, spec, marker, render)]), []);
  await new RayDashboardClient(ray.url).putServeApplications(body);
}

beforeAll(async () => {
  ray = new RayDouble();
  await ray.start();
  pool = createPool(loadConfig().database.url, 1);
});
afterAll(async () => {
  await ray?.stop();
  await pool?.end();
});
beforeEach(async () => {
  Object.assign(ray.faults, { dashboardDelayMs: 0, getStatus: null, dashboardDown: false, startDelayMs: 100 });
  ray.faults.unhealthyModels.clear();
  ray.faults.failingModels.clear();
  ray.faults.failingProbes.clear();
  ray.faults.engineFailingSources.clear();
  deps = {
    pool,
    dashboard: new RayDashboardClient(ray.url, 300),
    ingress: new IngressClient(ray.url, 2_000),
    clusterId: 'faults',
    render,
    pollIntervalMs: 50,
  };
  await new RayDashboardClient(ray.url).putServeApplications({ applications: [] });
});

/** A watch after the rollout's first report: any change is reported at once. */
const ALREADY_REPORTED = { lastProgress: { readyReplicas: 0, targetReplicas: 1, message: 'deployment UPDATING' } };

describe('readiness under Ray faults (double)', () => {
  it('rides out a blip in the first second of a rollout without reporting it', async () => {
    await deploy();
    ray.faults.getStatus = { status: 500, remaining: 1 };
    const first = await watch();
    expect(first).toMatchObject({ ready: true, progress: { message: 'ready' } });
    expect(ray.faults.getStatus?.remaining ?? 0).toBe(0); // the 500 was served and absorbed
  });


  it('reports a dashboard too slow for its timeout as progress, then goes on to ready', async () => {
    await deploy();
    ray.faults.dashboardDelayMs = 1_000;
    const slow = await watch();
    expect(slow.ready).toBe(false);
    expect(slow.progress.message).toMatch(/Ray dashboard unreachable .*(Timeout|TIMEOUT)/);
    ray.faults.dashboardDelayMs = 0;
    expect(await watchUntilReady()).toContain('ready');
  });

  it('reports a 500 from the dashboard as progress, not as a failed rollout', async () => {
    await deploy();
    ray.faults.getStatus = { status: 500, remaining: 1 };
    const failedGet = await watch(ALREADY_REPORTED);
    expect(failedGet).toMatchObject({ ready: false, progress: { readyReplicas: 0, message: expect.stringMatching(/Ray answered 500/) } });
    expect(await watchUntilReady()).toContain('ready');
  });

  it('rides out a dashboard restart (connections refused) and sees the model ready afterwards', async () => {
    await deploy();
    await watchUntilReady();
    const restarting = ray.restart(400);
    await new Promise((r) => setTimeout(r, 50));
    const during = await watch(ALREADY_REPORTED).finally(() => restarting);
    expect(during.progress.message).toMatch(/Ray dashboard unreachable .*ECONNREFUSED/);
    await restarting;
    expect(await watchUntilReady()).toContain('ready');
  });

  it('does not call a model ready while it turns UNHEALTHY mid-flight, and says why', async () => {
    await deploy();
    await watchUntilReady();
    ray.faults.unhealthyModels.add(MODEL);
    const unhealthy = await watch();
    expect(unhealthy.ready).toBe(false);
    expect(unhealthy.progress).toMatchObject({ readyReplicas: 0, targetReplicas: 1, message: expect.stringMatching(/UNHEALTHY.*health check/) });
    ray.faults.unhealthyModels.clear();
    expect(await watchUntilReady()).toContain('ready');
  });

  it('fails the rollout at once when Ray fails the deployment, with the root cause as summary', async () => {
    ray.faults.failingModels.add(MODEL);
    await deploy();
    await expect(watchUntilReady()).rejects.toMatchObject({
      type: 'RayDeploymentFailed',
      nonRetryable: true,
      message: `RuntimeError: config.json of ${MODEL} is malformed`,
    });
  });

  it("names a dead engine's root cause from its replica's log, not vLLM's generic last words", async () => {
    // Serve's message ends in "Engine core initialization failed" and names the replica's actor;
    // the replica is not yet among the recent dead ones. Paths are shown as the user wrote them.
    ray.faults.engineFailingSources.add('/demo/tiny-chat');
    await deploy();
    await expect(watchUntilReady()).rejects.toMatchObject({
      type: 'RayDeploymentFailed',
      message: 'RuntimeError: Cannot find any model weights with `/private/hf/demo/tiny-chat`',
    });
  });

  it('fails the rollout once the deadline passes, naming what it waited on', async () => {
    ray.faults.startDelayMs = 60_000;
    await deploy();
    await expect(watch({ deadlineMs: Date.now() - 1 })).rejects.toMatchObject({
      type: 'ReadinessDeadlineExceeded',
      message: expect.stringMatching(/not ready within the readiness deadline: deployment UPDATING .*\(replicas ready 0\/1\)/),
    });
  });

  it('heartbeats before every network call of a round, so slow checks cannot outlast the heartbeat timeout', async () => {
    await deploy();
    await watchUntilReady(); // the model is healthy, listed and answering
    const env = new MockActivityEnvironment(undefined, { logger: quiet });
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const result: WatchReadinessResult = await env.run(watchReadinessActivity(deps), { modelId: MODEL, targetReplicas: 1, rolloutMarker: 'r1', deadlineMs: Date.now() + 20_000, lastProgress: null, maxWatchMs: 5_000 });
    expect(result.ready).toBe(true);
    // One round to ready: the dashboard, GET /v1/models, the 1-token chat, each after a heartbeat.
    expect(beats).toHaveLength(3);
    expect(beats[0]).toMatchObject({ message: 'starting the readiness checks' });
  });

  it("waits on the engine's own health probes where configured, and says which one fails", async () => {
    await deploy();
    await watchUntilReady();
    deps.engineProbes = { baseUrl: ray.url, paths: ['/v2/health/ready', '/v2/models/{model}/ready'] };
    ray.faults.failingProbes.add(`/v2/models/${MODEL}/ready`);
    const waiting = await watch();
    expect(waiting).toMatchObject({ ready: false, progress: { readyReplicas: 1, message: `engine probe GET /v2/models/${MODEL}/ready answered 503` } });
    ray.faults.failingProbes.clear();
    expect(await watchUntilReady()).toContain('ready');
  });
});
