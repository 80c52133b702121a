import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { ensureUser } from '../../src/db/users';
import { startClusterWorkflows } from '../../src/worker/startClusterWorkflows';
import { clusterReconcilerWorkflowId } from '../../src/workflows/clusterReconcilerWorkflow';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';

/**
 * The real engine, all real: vLLM's CPU build inside Ray Serve LLM's stock LLMServer (no
 * server_cls), serving the demo checkpoint scripts/install.sh built, behind the product's
 * ingress; the API and a worker in this process, the Temporal dev server and Postgres.
 */
const ADMIN_TOKEN = 'test-admin-token-0123456789';
let stack: RunningStack;
let server: Server;
let api: string;
let userToken: string;
let ingress: string;
let dashboard: string;
/** What this tier measured, written beside the other test results. */
const timings: Record<string, number> = {};

async function call(method: string, urlPath: string, body?: string, contentType = 'application/json') {
  const response = await fetch(`${api}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${userToken}`, ...(body ? { 'content-type': contentType } : {}) },
    body,
  });
  return { status: response.status, body: (await response.json()) as any };
}

const detailOf = async (key: string) => (await call('GET', `/api/v2/serve/models/${key}`)).body;
const stateOf = async (key: string) => (await detailOf(key)).model?.state as string | undefined;

async function chat(model: string, content = 'Hello'): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const response = await fetch(`${ingress}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 4 }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Ray's proxy answers some failures in plain text.
  }
  return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
}

async function post(yaml: string): Promise<string> {
  const posted = await call('POST', '/api/v2/serve/models', yaml, 'application/yaml');
  expect(posted.status).toBe(202);
  return posted.body.model_key as string;
}

interface ReplicaStatus {
  replica_id: string;
  state: string;
  actor_id: string;
}

async function replicasOf(appName: string): Promise<ReplicaStatus[]> {
  const status = (await (await fetch(`${dashboard}/api/serve/applications/`)).json()) as any;
  const deployments = status.applications[appName]?.deployments ?? {};
  return Object.values(deployments).flatMap((d: any) => d.replicas as ReplicaStatus[]);
}

/** The vLLM EngineCore processes (by pid) whose parent is a replica actor of `appName`. */
function engineCoresOf(appName: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!title.startsWith('VLLM::EngineCore')) continue;
      const parent = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
      const parentTitle = readFileSync(`/proc/${parent}/cmdline`, 'utf8');
      if (parentTitle.includes(`ServeReplica:${appName}:`)) pids.push(Number(entry));
    } catch {
      // A process that ended while being read.
    }
  }
  return pids;
}

beforeAll(async () => {
  const config = testConfig({ engine: 'vllm-cpu' });
  // For this tier only: vLLM logs each request it takes, so the test can see which replica answered.
  config.serving.llm.engines['vllm-cpu']!.engine_kwargs.enable_log_requests = true;
  dashboard = config.serving.ray_dashboard_url;
  ingress = config.serving.ingress_url;
  await fetch(`${dashboard}/api/serve/applications/`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"applications": []}' });
  // The cluster's reconciler watches the models after RUNNING: a look every 2 s. Ray's own
  // recovery is waited for 30 s, less than a vLLM replica takes to load here (45 s to minutes):
  // a replacement Ray is starting must still be left to finish, not restarted. (Ray names the
  // replacement's node only once its worker process is up, over 10 s after the kill on a busy
  // machine; until then it cannot be told from a replica waiting for room.)
  config.serving.reconcile = { interval_s: 2, replica_grace_s: 2, ray_recovery_wait_s: 30, remind_after_s: 5 };
  stack = await startStack(config, { pollIntervalMs: 500 });
  await startClusterWorkflows(config);
  await ensureUser(stack.pool, ADMIN_USER_ID, true);
  const app = createApp({ config: stack.config, pool: stack.pool, temporal: stack.client, adminToken: ADMIN_TOKEN });
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  expect((await fetch(`${api}/api/v2/users`, { method: 'POST', headers: admin, body: JSON.stringify({ user_id: 'erin' }) })).status).toBe(201);
  userToken = ((await (await fetch(`${api}/api/v2/users/erin/tokens`, { method: 'POST', headers: admin })).json()) as any).token;
});

afterAll(async () => {
  server?.close();
  await stack?.client.workflow.getHandle(clusterReconcilerWorkflowId(stack.config.serving.cluster_id)).terminate('tier over').catch(() => undefined);
  await stack?.close();
  if (Object.keys(timings).length > 0) {
    const file = path.join(process.env.STATE_DIR ?? path.resolve(__dirname, '../../.data/test'), 'vllm-engine-timings.json');
    writeFileSync(file, `${JSON.stringify(timings, null, 2)}\n`);
  }
});

describe('the real vLLM engine behind Ray Serve LLM', () => {
  let key: string;
  let modelId: string;
  let appName: string;

  it('takes the demo checkpoint to RUNNING and vLLM answers the chat', async () => {
    const started = Date.now();
    key = await post('model_id: qwen-0.5b\nmodel_source: /private/hf/demo/tiny-llama\n');
    await eventually(async () => ['RUNNING', 'FAILED'].includes((await stateOf(key)) ?? ''), 300_000, 'the demo model to be RUNNING');
    timings.post_to_running_s = (Date.now() - started) / 1000;
    const detail = await detailOf(key);
    expect(detail.model.error_summary).toBeNull();
    expect(detail.model.state).toBe('RUNNING');
    modelId = detail.model.model_id;
    appName = detail.serve_status.app_name;
    expect(detail.model).toMatchObject({ model_source: '/private/hf/demo/tiny-llama', error_summary: null });
    // Ray Serve LLM's stock server, on the CPU build of vLLM.
    const status = (await (await fetch(`${dashboard}/api/serve/applications/`)).json()) as any;
    expect(Object.keys(status.applications[appName].deployments)).toEqual([`LLMServer:${modelId.replace(/\./g, '_')}`]);
    const answer = await chat(modelId);
    expect(answer.status).toBe(200);
    expect(answer.body.system_fingerprint).toMatch(/^vllm-0\.26\.0/);
    expect(answer.body.model).toBe(modelId);
    expect(answer.body.usage.completion_tokens).toBeGreaterThan(0);
    expect(typeof answer.body.choices[0].message.content).toBe('string');
    // /v1/completions through the same ingress, answered by vLLM too.
    const completion = await fetch(`${ingress}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelId, prompt: 'Once upon a time', max_tokens: 3 }),
      signal: AbortSignal.timeout(60_000),
    });
    expect(completion.status).toBe(200);
    const completed = (await completion.json()) as any;
    expect(completed).toMatchObject({ object: 'text_completion', model: modelId });
    expect(typeof completed.choices[0].text).toBe('string');
  });

  it('fails broken checkpoints with the root cause in error_summary while the neighbour serves', async () => {
    const noWeights = await post('model_id: no-weights\nmodel_source: /private/hf/demo/no-weights\n');
    const badConfig = await post('model_id: bad-config\nmodel_source: /private/hf/demo/broken-model\n');
    const neighbourAnswers: number[] = [];
    const started = Date.now();
    await eventually(async () => {
      neighbourAnswers.push((await chat(modelId, 'still there?')).status);
      const states = [await stateOf(noWeights), await stateOf(badConfig)];
      return states.every((s) => s === 'FAILED');
    }, 360_000, 'both broken checkpoints to be FAILED');
    timings.broken_checkpoints_failed_s = (Date.now() - started) / 1000;
    // vLLM's last words for a checkpoint without weights are generic; the cause is in its worker's log.
    const missing = (await detailOf(noWeights)).model.error_summary as string;
    expect(missing).toMatch(/Cannot find any model weights with .\/private\/hf\/demo\/no-weights/);
    expect(missing).not.toMatch(/Engine core initialization failed/);
    const invalid = (await detailOf(badConfig)).model.error_summary as string;
    expect(invalid).toMatch(/\/private\/hf\/demo\/broken-model\/config\.json' is not a valid JSON file/);
    for (const summary of [missing, invalid]) expect(summary).not.toContain(stack.config.serving.storage_root);
    expect(neighbourAnswers.length).toBeGreaterThan(0);
    expect(neighbourAnswers.filter((s) => s !== 200)).toEqual([]);
    expect(await stateOf(key)).toBe('RUNNING');
    // Two engines failing to load while the first serves: minutes on two cores when the machine is busy.
  }, 600_000);

  it('answers 503 while an engine killed under a RUNNING replica is replaced; the model is DEGRADED meanwhile, then RUNNING', async () => {
    const cores = engineCoresOf(appName);
    expect(cores).toHaveLength(1);
    const killedAt = Date.now();
    process.kill(cores[0]!, 'SIGKILL');
    const answers: Array<{ at: number; status: number; code?: string; retryAfter: string | null }> = [];
    await eventually(async () => {
      const answer = await chat(modelId);
      answers.push({ at: (Date.now() - killedAt) / 1000, status: answer.status, code: answer.body?.error?.code, retryAfter: answer.retryAfter });
      return answer.status === 200 && answers.some((a) => a.status !== 200);
    }, 240_000, 'chat to work again after the engine was killed').catch(async (err: Error) => {
      // What the chats, the model and Ray said, so a miss can be told apart from a slow machine.
      const detail = await detailOf(key).catch(() => undefined);
      const summary = answers.filter((a, i) => i === 0 || i === answers.length - 1 || a.status !== answers[i - 1]!.status || a.code !== answers[i - 1]!.code);
      throw new Error(`${err.message}\nanswers (changes only): ${JSON.stringify(summary)}\nmodel: ${JSON.stringify(detail?.model)}\nserve_status: ${JSON.stringify(detail?.serve_status)}\nevents: ${JSON.stringify(detail?.events?.slice(-8))}`);
    });
    timings.engine_kill_to_chat_s = (Date.now() - killedAt) / 1000;
    timings.engine_kill_to_first_model_starting_s = answers.find((a) => a.code === 'model_starting')?.at ?? -1;
    // Never a bare 500 and never a request hanging in a queue: 503 with a reason and Retry-After.
    const failures = answers.filter((a) => a.status !== 200);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toMatchObject({ status: 503, retryAfter: '5' });
      expect(['engine_unavailable', 'model_starting']).toContain(failure.code);
    }
    // The reconciler saw it: DEGRADED with Ray's words while the replica was replaced, healed by Ray.
    const healed = await eventually(async () => {
      const detail = await detailOf(key);
      const events = detail.events as Array<{ event_type: string; created_at: string; payload: Record<string, unknown> }>;
      const drift = events.find((e) => e.event_type === 'DRIFT_DETECTED' && Date.parse(e.created_at) >= killedAt - 1_000);
      const back = events.find((e) => e.event_type === 'HEALED' && Date.parse(e.created_at) >= killedAt - 1_000);
      return detail.model.state === 'RUNNING' && drift && back ? { drift, back } : undefined;
    }, 60_000, 'the model DEGRADED, then healed');
    expect(healed.drift.payload).toMatchObject({ kind: 'degraded', target_replicas: 1 });
    expect(String(healed.drift.payload.message)).not.toBe('');
    expect(healed.back.payload).toMatchObject({ by: 'ray', repair_attempts: 0 });
    timings.engine_kill_to_degraded_s = (Date.parse(healed.drift.created_at) - killedAt) / 1000;
    timings.engine_kill_to_healed_s = (Date.parse(healed.back.created_at) - killedAt) / 1000;
  });

  it('scales to 2 replicas that both answer, then deletes the model and its engines', async () => {
    const scaled = await call('PATCH', `/api/v2/serve/models/${key}`, JSON.stringify({ num_replicas: 2 }));
    expect(scaled.status).toBe(200);
    const started = Date.now();
    await eventually(async () => {
      const detail = await detailOf(key);
      return detail.model.state === 'RUNNING' && detail.model.num_replicas === 2 && detail.serve_status.running_replicas === 2;
    }, 300_000, 'two replicas RUNNING');
    timings.scale_to_2_s = (Date.now() - started) / 1000;
    const replicas = (await replicasOf(appName)).filter((r) => r.state === 'RUNNING');
    expect(replicas).toHaveLength(2);
    for (let i = 0; i < 16; i += 1) expect((await chat(modelId, `request ${i}`)).status).toBe(200);
    // Each replica's own vLLM logged requests it took (Serve spreads them over both).
    for (const replica of replicas) {
      const log = await (await fetch(`${dashboard}/api/v0/logs/file?actor_id=${replica.actor_id}&suffix=err&lines=4000`)).text();
      const out = await (await fetch(`${dashboard}/api/v0/logs/file?actor_id=${replica.actor_id}&suffix=out&lines=4000`)).text();
      expect(`${log}\n${out}`).toMatch(/Added request chatcmpl-/);
    }

    expect((await call('DELETE', `/api/v2/serve/models/${key}`)).status).toBe(200);
    await eventually(async () => (await stateOf(key)) === 'DELETED', 120_000, 'the model to be DELETED');
    expect(engineCoresOf(appName)).toEqual([]);
    const models = (await (await fetch(`${ingress}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).not.toContain(modelId);
  });
});
