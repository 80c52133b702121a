import type { Pool } from 'pg';
import { ModelCommands } from '../../src/api/modelCommands';
import { getModel } from '../../src/db/models';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import type { ServeDetails } from '../../src/ray/serveStatus';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * No model ever restarts another, on a real Ray node with the stand-in engine behind the
 * product's ingress: with A and B RUNNING and a loop of 1-token chats to A, add C, redefine B,
 * scale B, remove B, add a model that fails to start. A's replicas and the ingress's replica
 * never change, no chat to A fails, and each change's own model answers at once (503, then 200
 * or 404) while it cannot serve, never a request left hanging. An app someone else deployed
 * through the dashboard survives every PUT. A watcher polls Ray throughout and keeps what it saw.
 */
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
let dashboard: RayDashboardClient;
let ingress: string;
let ingressApp: string;

const FOREIGN_APP = {
  name: 'someone_elses_app',
  route_prefix: '/foreign',
  import_path: 'ray.serve.llm:build_openai_app',
  args: {
    llm_configs: [
      {
        model_loading_config: { model_id: 'foreign-echo', model_source: '' },
        server_cls: 'argus_standin.server:StandInLLMServer',
        engine_kwargs: { tensor_parallel_size: 1 },
      },
    ],
    ingress_deployment_config: { ray_actor_options: { num_cpus: 0.1 } },
  },
};

/** What the watcher saw each time: replica ids per app deployment, and the foreign app's config. */
interface Observation {
  replicas: Record<string, string[]>;
  foreign: string | null;
}
const seen: Observation[] = [];
let watching: NodeJS.Timeout | undefined;
function startWatching(): void {
  const poll = async () => {
    try {
      const details = await dashboard.getServeDetails();
      const replicas: Record<string, string[]> = {};
      for (const [app, status] of Object.entries(details.applications)) {
        for (const [name, deployment] of Object.entries(status.deployments)) {
          replicas[`${app}/${name}`] = deployment.replicas.filter((r) => r.state === 'RUNNING').map((r) => r.replica_id).sort();
        }
      }
      seen.push({ replicas, foreign: foreignFingerprint(details) });
    } catch {
      // The dashboard answers slowly under load at times; the next poll looks again.
    }
    watching = setTimeout(poll, 250);
  };
  void poll();
}

function foreignFingerprint(details: ServeDetails): string | null {
  const app = details.applications[FOREIGN_APP.name]?.deployed_app_config as Record<string, unknown> | undefined;
  return app ? JSON.stringify({ route_prefix: app.route_prefix, import_path: app.import_path, args: app.args }) : null;
}

/** Every replica-id set a deployment was seen running with (empty sets of a moment without a status left out). */
const replicaSetsOf = (key: string) => [...new Set(seen.map((s) => (s.replicas[key] ?? []).join(',')).filter(Boolean))];

const modelIdOf = async (key: string) => {
  const row = await getModel(pool, key);
  return `${row?.prefix}-${row?.suffix}`;
};
const stateOf = async (key: string) => (await getModel(pool, key))?.state;
const reaches = (key: string, state: string, check: (row: NonNullable<Awaited<ReturnType<typeof getModel>>>) => boolean = () => true) =>
  eventually(async () => {
    const row = await getModel(pool, key);
    return row?.state === state && check(row);
  }, 150_000, `${key} to be ${state}`);

interface ChatResult {
  status: number;
  code: string | null;
  message: string | null;
  ms: number;
  retryAfter: string | null;
}
async function chat(modelId: string, prefix = ''): Promise<ChatResult> {
  const started = Date.now();
  try {
    const response = await fetch(`${ingress}${prefix}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    let error: { code?: string; message?: string } | undefined;
    try {
      error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    } catch {
      error = undefined;
    }
    return { status: response.status, code: error?.code ?? null, message: error?.message ?? null, ms: Date.now() - started, retryAfter: response.headers.get('retry-after') };
  } catch {
    return { status: 0, code: 'no answer', message: null, ms: Date.now() - started, retryAfter: null };
  }
}

/** Chats to `modelId` until `done` resolves, one after another, at most one every 100 ms; keeps every answer. */
function chatLoop(modelId: string) {
  const results: ChatResult[] = [];
  let stop = false;
  const running = (async () => {
    const until = Date.now() + 600_000; // bounded: never outlives the test
    while (!stop && Date.now() < until) {
      results.push(await chat(modelId));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    results,
    stop: async () => {
      stop = true;
      await running;
    },
  };
}

/** While `key` is on its way to `state`, asks its model every 200 ms and keeps the answers. */
async function probeUntil(key: string, modelId: string, state: string): Promise<ChatResult[]> {
  const answers: ChatResult[] = [];
  await eventually(async () => {
    answers.push(await chat(modelId));
    return (await stateOf(key)) === state;
  }, 150_000, `${key} to be ${state}`);
  return answers;
}

beforeAll(async () => {
  const config = testConfig();
  ingressApp = config.serving.app_name;
  ingress = config.serving.ingress_url;
  dashboard = new RayDashboardClient(config.serving.ray_dashboard_url);
  // The foreign app is deployed the way another team would: straight through the dashboard.
  const foreign = { ...FOREIGN_APP, args: { ...FOREIGN_APP.args, llm_configs: [{ ...FOREIGN_APP.args.llm_configs[0], model_loading_config: { model_id: 'foreign-echo', model_source: `${config.serving.storage_root}/hf/demo/tiny-chat` } }] } };
  await dashboard.putServeApplications({ applications: [foreign] });
  await eventually(async () => (await dashboard.getServeDetails()).applications[FOREIGN_APP.name]?.status === 'RUNNING', 120_000, 'the foreign app to run');
  stack = await startStack(config, { pollIntervalMs: 300 });
  commands = new ModelCommands(stack.pool, stack.client, stack.config);
  pool = stack.pool;
  startWatching();
});

afterAll(async () => {
  if (watching) clearTimeout(watching);
  await stack?.close();
  await dashboard?.putServeApplications({ applications: [] }).catch(() => undefined);
});

describe('one app per model behind one ingress, on a real Ray node', () => {
  let a: string;
  let b: string;
  let idA: string;

  it('deploys two models POSTed at the same moment, each in an app of its own; both answer through the ingress', async () => {
    const [ackA, ackB] = await Promise.all([commands.deploy('alice', spec('qwen-0.5b')), commands.deploy('bob', spec('llama3.1-8b'))]);
    a = ackA.model_key;
    b = ackB.model_key;
    await Promise.all([reaches(a, 'RUNNING'), reaches(b, 'RUNNING')]);
    idA = await modelIdOf(a);
    expect(await chat(idA)).toMatchObject({ status: 200 });
    expect(await chat(await modelIdOf(b))).toMatchObject({ status: 200 });
    const apps = Object.keys((await dashboard.getServeDetails()).applications);
    expect(apps).toEqual(expect.arrayContaining([ingressApp, `${ingressApp}--${a}--r1`, `${ingressApp}--${b}--r1`, FOREIGN_APP.name]));
  });

  it("adds, redefines, scales and removes neighbours and fails one: A's replicas and the ingress never restart, no chat to A fails, each change answers at once", async () => {
    const aKey = `${ingressApp}--${a}--r1/StandInLLMServer:${idA.replace(/\./g, '_')}`;
    const ingressKey = `${ingressApp}/ArgusIngress`;
    const loop = chatLoop(idA);
    try {
      await eventually(async () => seen.some((s) => (s.replicas[aKey] ?? []).length > 0), 10_000, "the watcher to see A's replica");

      // Add C: while it loads (5 s), its chats are answered 503 model_starting with Retry-After, quickly.
      const c = await commands.deploy('alice', spec('qwen2.5-7b', { engine_kwargs: { standin_load_delay_s: 5 } }));
      const idC = await modelIdOf(c.model_key);
      const whileC = await probeUntil(c.model_key, idC, 'RUNNING');
      expect(whileC.filter((r) => r.status === 503).length).toBeGreaterThan(0);
      expect(whileC.filter((r) => r.status === 503).every((r) => r.code === 'model_starting' && r.retryAfter !== null)).toBe(true);
      expect(whileC.filter((r) => ![200, 404, 503].includes(r.status))).toEqual([]);
      expect(Math.max(...whileC.map((r) => r.ms))).toBeLessThan(3_000);
      expect(await chat(idC)).toMatchObject({ status: 200 });

      // Redefine B (blue/green): B keeps answering from its old revision until the new one took over.
      const idB = await modelIdOf(b);
      await commands.deploy('bob', spec('llama3.1-8b', { engine_kwargs: { standin_load_delay_s: 3 } }));
      const whileB = await probeUntil(b, idB, 'RUNNING');
      await reaches(b, 'RUNNING', (row) => row.revision === 2);
      expect(whileB.filter((r) => r.status !== 200)).toEqual([]);
      const bApps = Object.keys((await dashboard.getServeDetails()).applications).filter((n) => n.includes(`--${b}--`));
      expect(bApps).toEqual([`${ingressApp}--${b}--r2`]);

      // Scale B in place.
      await commands.scale(b, 2);
      await reaches(b, 'RUNNING', (row) => row.spec.num_replicas === 2);
      expect(await chat(idB)).toMatchObject({ status: 200 });

      // Remove B: gone from the ingress, answered 404 model_not_found.
      await commands.delete(b);
      await reaches(b, 'DELETED');
      expect(await chat(idB)).toMatchObject({ status: 404, code: 'model_not_found' });

      // A model that fails to start: answered 503 while it tries, never RUNNING, and then it is gone.
      const d = await commands.deploy('bob', spec('broken-0.1', { engine_kwargs: { standin_fail_on_start: 'boom' } }));
      const idD = await modelIdOf(d.model_key);
      const whileD = await probeUntil(d.model_key, idD, 'FAILED');
      expect(whileD.filter((r) => r.status === 200)).toEqual([]);
      expect(whileD.filter((r) => r.status === 503).length).toBeGreaterThan(0);
      expect(Math.max(...whileD.map((r) => r.ms))).toBeLessThan(3_000);
      expect((await getModel(pool, d.model_key))?.errorSummary).toContain('boom');

    } finally {
      await loop.stop();
    }
    expect(loop.results.length).toBeGreaterThan(50);
    expect(loop.results.filter((r) => r.status !== 200)).toEqual([]);
    expect(replicaSetsOf(aKey)).toHaveLength(1);
    expect(replicaSetsOf(ingressKey)).toHaveLength(1);
  });

  it('keeps the foreign app exactly as deployed through every PUT', async () => {
    const fingerprints = new Set(seen.map((s) => s.foreign));
    expect(fingerprints.size).toBe(1);
    expect([...fingerprints][0]).not.toBeNull();
    expect((await dashboard.getServeDetails()).applications[FOREIGN_APP.name]?.status).toBe('RUNNING');
    expect(await chat('foreign-echo', FOREIGN_APP.route_prefix)).toMatchObject({ status: 200 });
  });
});
