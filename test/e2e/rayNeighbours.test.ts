import type { Pool } from 'pg';
import { ModelCommands } from '../../src/api/modelCommands';
import { getModel, listEvents } from '../../src/db/models';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { deploymentNameFor } from '../../src/ray/serveConfig';
import type { ServeDetails } from '../../src/ray/serveStatus';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * What the single writer promises, checked on the real Ray node with the stand-in server:
 * models deployed at the same moment both run and no PUT drops either, a scale leaves the
 * neighbour's replicas alone, a failing model never shows RUNNING while its neighbours keep
 * answering, and an app someone else deployed through the dashboard survives every PUT.
 * A watcher polls Ray throughout and keeps what it saw, so a PUT that dropped a model for a
 * moment fails the test even if a later PUT put it back.
 */
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
let dashboard: RayDashboardClient;
let ingress: string;
let appName: string;
let serverCls: string | null;

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


/** Every observation of the cluster: the models in our app's deployed config and the foreign app's config. */
const seen: Array<{ models: string[]; foreign: string | null }> = [];
let watching: NodeJS.Timeout | undefined;
function startWatching(): void {
  const poll = async () => {
    try {
      const details = await dashboard.getServeDetails();
      const managed = details.applications[appName]?.deployed_app_config as { args?: { llm_configs?: Array<{ model_loading_config: { model_id: string } }> } } | undefined;
      seen.push({
        models: (managed?.args?.llm_configs ?? []).map((c) => c.model_loading_config.model_id),
        foreign: foreignFingerprint(details),
      });
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

/** From the first observation that shows a model on, every later one shows it too. */
function neverDropped(modelId: string): void {
  const first = seen.findIndex((s) => s.models.includes(modelId));
  expect(first).toBeGreaterThanOrEqual(0);
  const dropped = seen.slice(first).findIndex((s) => !s.models.includes(modelId));
  expect(dropped).toBe(-1);
}

const modelIdOf = async (key: string) => {
  const row = await getModel(pool, key);
  return `${row?.prefix}-${row?.suffix}`;
};
const stateOf = async (key: string) => (await getModel(pool, key))?.state;
const running = (key: string, check: (row: NonNullable<Awaited<ReturnType<typeof getModel>>>) => boolean = () => true) =>
  eventually(async () => {
    const row = await getModel(pool, key);
    return row?.state === 'RUNNING' && check(row);
  }, 120_000, `${key} to be RUNNING`);

async function chat(modelId: string, prefix = ''): Promise<number> {
  const response = await fetch(`${ingress}${prefix}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    signal: AbortSignal.timeout(20_000),
  });
  await response.text();
  return response.status;
}

async function replicaIds(modelId: string): Promise<string[]> {
  const details = await dashboard.getServeDetails();
  const deployment = details.applications[appName]?.deployments[deploymentNameFor(modelId, serverCls)];
  return (deployment?.replicas ?? []).filter((r) => r.state === 'RUNNING').map((r) => r.replica_id).sort();
}

beforeAll(async () => {
  const config = testConfig();
  appName = config.serving.app_name;
  serverCls = config.serving.llm.server_cls;
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

describe('neighbours on a real Ray node', () => {
  let twinA: string;
  let twinB: string;

  it('deploys two models POSTed at the same moment: both RUNNING, neither ever dropped by the other\'s PUT', async () => {
    const [a, b] = await Promise.all([commands.deploy('alice', spec('twin-a')), commands.deploy('bob', spec('twin-b'))]);
    twinA = a.model_key;
    twinB = b.model_key;
    await Promise.all([running(twinA), running(twinB)]);
    const [idA, idB] = [await modelIdOf(twinA), await modelIdOf(twinB)];
    expect(await chat(idA)).toBe(200);
    expect(await chat(idB)).toBe(200);
    neverDropped(idA);
    neverDropped(idB);
  });

  it("scales one model without restarting its neighbour's replicas", async () => {
    const neighbour = await modelIdOf(twinB);
    const before = await replicaIds(neighbour);
    expect(before).toHaveLength(1);
    await commands.scale(twinA, 2);
    await running(twinA, (row) => row.spec.num_replicas === 2);
    expect(await replicaIds(await modelIdOf(twinA))).toHaveLength(2);
    expect(await replicaIds(neighbour)).toEqual(before);
  });

  it('never shows a failing model as RUNNING, and its neighbours keep answering', async () => {
    const ack = await commands.deploy('alice', spec('broken', { model_source: '/private/hf/demo/broken-model' }));
    const neighbour = await modelIdOf(twinB);
    const states = new Set<string>();
    const chats: number[] = [];
    let probe = Promise.resolve();
    await eventually(async () => {
      const state = await stateOf(ack.model_key);
      if (state) states.add(state);
      probe = probe.then(async () => void chats.push(await chat(neighbour).catch(() => 0)));
      return state === 'FAILED';
    }, 120_000, 'broken to be FAILED');
    await probe;
    expect([...states]).not.toContain('RUNNING');
    expect((await getModel(pool, ack.model_key))?.errorSummary).toMatch(/config\.json.* is malformed/);
    expect(chats.length).toBeGreaterThan(5);
    expect(chats.filter((status) => status !== 200)).toEqual([]);
    expect(await stateOf(twinA)).toBe('RUNNING');
    expect(await stateOf(twinB)).toBe('RUNNING');
  });

  it('keeps the foreign app exactly as deployed through every PUT (deploy, scale, failure, delete)', async () => {
    await commands.delete(twinA);
    await eventually(async () => (await stateOf(twinA)) === 'DELETED', 120_000, 'twin-a to be DELETED');
    neverDropped(await modelIdOf(twinB));
    const fingerprints = new Set(seen.map((s) => s.foreign));
    expect(fingerprints.size).toBe(1);
    expect([...fingerprints][0]).not.toBeNull();
    expect((await dashboard.getServeDetails()).applications[FOREIGN_APP.name]?.status).toBe('RUNNING');
    expect(await chat('foreign-echo', FOREIGN_APP.route_prefix)).toBe(200);
    // The writer PUT at least once per request: deploy x2, scale, failed deploy and its removal, delete.
    const applies = (await Promise.all([twinA, twinB].map((k) => listEvents(pool, k)))).flat().filter((e) => e.eventType === 'APPLY_SUCCEEDED');
    expect(applies.length).toBeGreaterThanOrEqual(3);
  });
});
