import { cpSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { request } from 'undici';
import { ModelCommands } from '../src/api/modelCommands';
import { toServingModel } from '../src/api/servingModelView';
import { SpecPlatformSource } from '../src/api/specPlatform';
import { getModel, listEvents } from '../src/db/models';
import { parseSpecYaml, validateServingSpec } from '../src/domain/servingSpec';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { startClusterWorkflows } from '../src/worker/startClusterWorkflows';
import { clusterReconcilerWorkflowId } from '../src/workflows/clusterReconcilerWorkflow';
import { eventually, RunningStack, startStack, testConfig } from '../test/support/stack';
import { recordFigures } from './support/figures';
import { stackAction } from './support/stackControl';

/**
 * The spec features of the reference systems on a real Ray node (the stand-in engine in the
 * replicas): a repo id, env, /v1/completions, scale to zero and its cold start (and a cold start
 * that fails), autoscaling under a burst, and a replica of 16 GPUs across two nodes.
 */
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
let dashboard: RayDashboardClient;
let platform: SpecPlatformSource;
let ingressUrl: string;

beforeAll(async () => {
  const config = testConfig();
  config.serving.reconcile = { interval_s: 1, replica_grace_s: 2, ray_recovery_wait_s: 120, remind_after_s: 5 };
  // Quick to react, so a burst and an idle spell fit in a test.
  config.serving.autoscaling = { upscale_delay_s: 1, downscale_delay_s: 5, metrics_interval_s: 0.5, look_back_period_s: 2 };
  stack = await startStack(config);
  pool = stack.pool;
  commands = new ModelCommands(pool, stack.client, config);
  dashboard = new RayDashboardClient(config.serving.ray_dashboard_url);
  platform = new SpecPlatformSource(config, dashboard, 0);
  ingressUrl = config.serving.ingress_url;
  await dashboard.putServeApplications({ applications: [] });
  await startClusterWorkflows(config);
});
afterAll(async () => {
  await stack?.client.workflow.getHandle(clusterReconcilerWorkflowId(stack.config.serving.cluster_id)).terminate('scenarios over').catch(() => undefined);
  await stackAction('kill-node').catch(() => undefined);
  await stack?.close();
});

// ---- helpers ----

async function deploy(yaml: string) {
  const spec = validateServingSpec(parseSpecYaml(yaml), { userId: 'alice', allowStandInKnobs: true, platform: await platform.get() });
  const ack = await commands.deploy('alice', spec);
  await reaches(ack.model_key, 'RUNNING');
  const row = (await getModel(pool, ack.model_key))!;
  return { key: ack.model_key, modelId: `${row.prefix}-${row.suffix}` };
}

const stateOf = async (key: string) => (await getModel(pool, key))?.state;
const eventTypes = async (key: string) => (await listEvents(pool, key)).map((e) => e.eventType);
const reaches = (key: string, state: string, timeoutMs = 120_000) =>
  eventually(async () => (await stateOf(key)) === state, timeoutMs, `${key} to reach ${state}`).catch(async (err: Error) => {
    throw new Error(`${err.message}; it is ${await stateOf(key)} (${(await getModel(pool, key))?.errorSummary}) after ${(await eventTypes(key)).join(', ')}`);
  });
const view = async (key: string) => toServingModel((await getModel(pool, key))!, stack.config.serving.openai_base_url);

async function remove(key: string) {
  await commands.delete(key);
  await reaches(key, 'DELETED');
}

async function post(route: string, body: unknown, timeoutMs = 60_000): Promise<{ status: number; text: string }> {
  const response = await request(`${ingressUrl}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: response.statusCode, text: await response.body.text() };
}
const chat = (model: string, content = 'hi', timeoutMs?: number) => post('/v1/chat/completions', { model, messages: [{ role: 'user', content }], max_tokens: 8 }, timeoutMs);

/** The model's deployment as Ray reports it. */
async function deploymentOf(key: string) {
  const status = (await dashboard.getServeStatusJson()) as {
    applications: Record<string, { deployments: Record<string, { status: string; target_num_replicas?: number; replicas: Array<{ state: string }> }> }>;
  };
  const app = Object.keys(status.applications).find((name) => name.includes(`--${key}--`));
  const deployment = Object.values(status.applications[app as string]?.deployments ?? {})[0];
  return { target: deployment?.target_num_replicas ?? -1, running: (deployment?.replicas ?? []).filter((r) => r.state === 'RUNNING').length, status: deployment?.status };
}

const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

/**
 * Watches Ray beside a request: resolves to when `seen` first held, or 0 when `done` came first
 * (the request answered) or `timeoutMs` passed.
 */
async function firstSeenAt(seen: () => Promise<boolean>, done: () => boolean, timeoutMs: number): Promise<number> {
  const startedAt = Date.now();
  while (!done() && Date.now() - startedAt < timeoutMs) {
    if (await seen()) return Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  return 0;
}

// ---- scenarios ----

describe('spec features on a real Ray node', () => {
  it('serves a repo id, passes env to the replicas, and answers /v1/completions through the ingress', async () => {
    const m = await deploy('model_id: qwen-0.5b\nmodel_source: argus-demo/tiny-chat\nenv: {TEAM_FLAG: "on"}\ndescription: a repo id on Ray\n');
    expect((await view(m.key)).model_repo).toMatchObject({ repo_id: 'argus-demo/tiny-chat', revision: 'main' });
    expect((await chat(m.modelId, 'env? TEAM_FLAG')).text).toContain('TEAM_FLAG is set');
    expect((await chat(m.modelId, 'env? NOT_GIVEN_HERE')).text).toContain('NOT_GIVEN_HERE is not set');
    const completion = await post('/v1/completions', { model: m.modelId, prompt: 'hello there', max_tokens: 4 });
    expect(completion.status).toBe(200);
    expect(JSON.parse(completion.text).choices[0].text).toBe('echo: hello there');
    await remove(m.key);
  });

  it('scale_to_zero: an idle model goes to 0 replicas, stays RUNNING, and the next request starts one', async () => {
    const m = await deploy('model_id: sleepy.model\nmodel_source: $HOME/common/hf/demo/tiny-chat\nengine_kwargs: {standin_load_delay_s: 3}\nautoscaling: {min_replicas: 0, max_replicas: 1, idle_timeout_s: 10}\n');
    const idleFrom = Date.now();
    await eventually(async () => (await deploymentOf(m.key)).target === 0 && (await deploymentOf(m.key)).running === 0, 120_000, 'the model at zero');
    const atZeroAfter = Date.now() - idleFrom;
    await eventually(async () => (await view(m.key)).replicas.running === 0, 30_000, 'the reconciler to see it at zero');
    const shown = await view(m.key);
    expect(shown.state).toBe('RUNNING');
    expect(shown.replicas).toMatchObject({ running: 0, target: 0 });
    expect(shown.replicas.note).toMatch(/scaled to zero/);

    // The cold start, through the ingress; beside it, when Ray reports the new replica RUNNING.
    const sentAt = Date.now();
    const replicaRunning = firstSeenAt(async () => (await deploymentOf(m.key)).running > 0, () => false, 60_000);
    const answer = await chat(m.modelId, 'wake up', 60_000);
    const answeredAt = Date.now();
    const replicaRunningAt = await replicaRunning;
    expect(answer).toMatchObject({ status: 200 });
    expect(await eventTypes(m.key)).not.toContain('DRIFT_DETECTED'); // scaling to zero is no drift
    await remove(m.key);

    recordFigures('scale_to_zero', 'A model scaled to zero, woken by a request (stand-in engine with a 3 s load)', [
      { name: 'idle time set (s)', value: 10 },
      { name: 'deployed to 0 replicas (s)', value: seconds(atZeroAfter) },
      { name: 'cold start through the ingress (s, request to answer)', value: seconds(answeredAt - sentAt) },
      { name: "Ray's own replica start (s, request to replica RUNNING)", value: replicaRunningAt ? seconds(replicaRunningAt - sentAt) : 'not seen' },
      { name: 'first request answered', value: String(answer.status === 200), target: 'true', ok: answer.status === 200 },
    ]);
  });

  it('cold_start_failed: a model whose replica cannot start answers 503 in seconds, and the failure is recorded on it', async () => {
    const storage = stack.config.serving.storage_root;
    const checkpoint = path.join(storage, 'users', 'alice', 'cold-ckpt');
    cpSync(path.join(storage, 'hf', 'demo', 'tiny-chat'), checkpoint, { recursive: true });
    let key: string | undefined;
    try {
      const m = await deploy('model_id: fragile\nmodel_source: $HOME/cold-ckpt\nautoscaling: {min_replicas: 0, max_replicas: 1, idle_timeout_s: 10}\n');
      key = m.key;
      await eventually(async () => (await deploymentOf(m.key)).target === 0 && (await deploymentOf(m.key)).running === 0, 120_000, 'the model at zero');
      renameSync(checkpoint, `${checkpoint}.gone`); // the checkpoint vanishes while nothing runs
      // Beside the request, when Ray itself reports the replica's start failed: the time before
      // that is Ray's (an actor started, the engine's imports, the load failing) and grows with a
      // loaded machine; the time after it is the ingress's, the part this product answers for.
      const sentAt = Date.now();
      let answered = false;
      const rayFailed = firstSeenAt(async () => (await deploymentOf(m.key)).status === 'UNHEALTHY', () => answered, 180_000);
      const answer = await chat(m.modelId, 'hello', 180_000);
      const answeredAt = Date.now();
      answered = true;
      const rayFailedAt = await rayFailed;
      const answeredIn = answeredAt - sentAt;
      // Seen before the answer, or (the 100 ms watch losing the race) the moment of the answer.
      const gateDelay = answeredAt - (rayFailedAt || answeredAt);
      expect(answer.status).toBe(503);
      expect(answer.text).toMatch(/model_failed|failed/);
      await reaches(m.key, 'DEGRADED', 60_000);
      const summary = (await getModel(pool, m.key))?.errorSummary ?? '';
      expect(summary).toMatch(/cold start failed/);
      expect(summary).toContain('/private/users/alice/cold-ckpt'); // the logical path, never the node's
      expect(summary).not.toContain(storage);
      expect(await eventTypes(m.key)).toContain('COLD_START_FAILED');
      recordFigures('cold_start_failed', 'A scaled-to-zero model whose replica cannot start', [
        { name: 'answered (s, request to 503)', value: seconds(answeredIn), target: '<= 15', ok: answeredIn <= 15_000 },
        { name: "Ray's own report of the failed start (s, request to UNHEALTHY)", value: rayFailedAt ? seconds(rayFailedAt - sentAt) : 'not seen before the answer' },
        { name: 'ingress answer after Ray reported it (s)', value: seconds(gateDelay), target: '< 10', ok: gateDelay < 10_000 },
        { name: 'recorded as', value: 'COLD_START_FAILED, model DEGRADED' },
        { name: 'reason shown', value: summary },
      ]);
      // The product's part: the 503 follows Ray's report within its status reads (about 1 s),
      // where a request left in Ray's queue hangs up to 600 s. The whole answer time is a figure.
      expect(gateDelay).toBeLessThan(10_000);
      renameSync(`${checkpoint}.gone`, checkpoint);
      await remove(m.key);
      key = undefined;
    } finally {
      // After a failure above, still delete it: its reserved GPU would queue the next scenario's model.
      if (key) await remove(key).catch(() => undefined);
      rmSync(checkpoint, { recursive: true, force: true });
      rmSync(`${checkpoint}.gone`, { recursive: true, force: true });
    }
  });

  it('autoscale_burst: concurrent chats grow the model toward max_replicas, and it shrinks back when they stop', async () => {
    const m = await deploy(
      'model_id: busy\nmodel_source: $HOME/common/hf/demo/tiny-chat\nengine_kwargs: {standin_reply_delay_s: 1}\nautoscaling: {min_replicas: 1, max_replicas: 3, target_ongoing_requests: 1}\n',
    );
    let running = true;
    let sent = 0;
    let failed = 0;
    const loops = Array.from({ length: 6 }, async () => {
      while (running) {
        const { status } = await chat(m.modelId, 'work');
        sent += 1;
        if (status !== 200) failed += 1;
      }
    });
    const startedAt = Date.now();
    let peak = { target: 1, running: 1 };
    try {
      await eventually(
        async () => {
          const now = await deploymentOf(m.key);
          if (now.running > peak.running || now.target > peak.target) peak = { target: Math.max(peak.target, now.target), running: Math.max(peak.running, now.running) };
          return now.running >= 2;
        },
        90_000,
        'a second replica under load',
      );
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const grewIn = Date.now() - startedAt;
    const stoppedAt = Date.now();
    await eventually(async () => (await deploymentOf(m.key)).target === 1 && (await deploymentOf(m.key)).running === 1, 120_000, 'back to one replica');
    const shrankIn = Date.now() - stoppedAt;
    expect(await stateOf(m.key)).toBe('RUNNING');
    expect(await eventTypes(m.key)).not.toContain('DRIFT_DETECTED'); // the autoscaler's moves are no drift
    await remove(m.key);
    recordFigures('autoscale_burst', 'An autoscaled model (1-3 replicas, target 1 ongoing request) under 6 concurrent chat loops', [
      { name: 'replicas at the peak (target / running)', value: `${peak.target} / ${peak.running}` },
      { name: 'grew to 2 running (s)', value: seconds(grewIn) },
      { name: 'back to 1 after the burst (s)', value: seconds(shrankIn) },
      { name: 'chats sent during the burst', value: sent },
      { name: 'failed chats', value: failed, target: '0', ok: failed === 0 },
    ]);
    expect(failed).toBe(0);
  });

  it('multi_node_replica: a replica of 16 GPUs is placed across two nodes of 8', async () => {
    await stackAction('add-node', { SECOND_NODE_GPUS: '8' });
    await eventually(async () => (await dashboard.getNodes()).filter((n) => n.gpus === 8).length === 2, 60_000, 'two nodes of 8 GPUs');
    const m = await deploy('model_id: big.model\nmodel_source: $HOME/common/hf/demo/tiny-chat\ngpus_per_replica: 16\n');
    expect((await view(m.key)).layout).toEqual({ tensor_parallel_size: 8, pipeline_parallel_size: 2 });
    // The replica's placement group holds 16 GPU bundles on two nodes.
    const response = await request(`${stack.config.serving.ray_dashboard_url}/api/v0/placement_groups?detail=1&limit=1000`);
    const groups = ((await response.body.json()) as { data: { result: { result: Array<{ state: string; bundles: Array<{ node_id: string | null; unit_resources: Record<string, number> }> }> } } }).data.result.result;
    const placed = groups.filter((g) => g.state === 'CREATED' && g.bundles.reduce((sum, b) => sum + (b.unit_resources.GPU ?? 0), 0) === 16);
    expect(placed).toHaveLength(1);
    expect(new Set(placed[0]!.bundles.map((b) => b.node_id)).size).toBe(2);
    expect((await chat(m.modelId)).status).toBe(200);
    await remove(m.key);
    await stackAction('kill-node');
  });
});
