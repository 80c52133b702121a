import { loadConfig } from '../../src/config/config';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { IngressClient } from '../../src/ray/ingressClient';
import { deploymentNameFor, RenderSettings, renderSettingsOf } from '../../src/ray/serveConfig';
import { ModelConfig, renderSingleAppBody, renderManagedApplication, renderModelConfig } from '../../src/ray/singleAppLayout';
import { assessModel, ModelAssessment, ServeDetails, summarizeRayMessage } from '../../src/ray/serveStatus';
import { RayDouble } from '../support/rayDouble';
import { eventually } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * One contract, two implementations: every case runs against the in-process Ray double and
 * against the real Ray node, so the double cannot drift from what Ray does. Each case drives
 * the dashboard's Serve REST API and the OpenAI ingress directly, with configs rendered by
 * src/ray/serveConfig and statuses read through src/ray/serveStatus.
 */
interface Target {
  name: string;
  dashboardUrl: string;
  ingressUrl: string;
  storageRoot: string;
  /** The model_source that makes this model's engine fail on start. */
  failingSource(modelId: string): string;
  close(): Promise<void>;
}

async function doubleTarget(): Promise<Target> {
  const ray = new RayDouble();
  await ray.start();
  ray.faults.startDelayMs = 300;
  return {
    name: 'the Ray double',
    dashboardUrl: ray.url,
    ingressUrl: ray.url,
    storageRoot: '/srv/storage',
    failingSource(modelId) {
      ray.faults.failingModels.add(modelId);
      return '/private/hf/demo/broken-model';
    },
    close: () => ray.stop(),
  };
}

function realTarget(): Target {
  const config = loadConfig();
  return {
    name: 'the real Ray node',
    dashboardUrl: config.serving.ray_dashboard_url,
    ingressUrl: config.serving.ingress_url,
    storageRoot: config.serving.storage_root,
    // The seeded checkpoint whose config.json the stand-in engine cannot read.
    failingSource: () => '/private/hf/demo/broken-model',
    close: async () => undefined,
  };
}

const APP = 'contract_app';
const GOOD = 'contract-good';
const BAD = 'contract-bad';

describe.each([['double', doubleTarget], ['real', async () => realTarget()]] as const)('Ray Serve contract (%s)', (_label, makeTarget) => {
  let target: Target;
  let dashboard: RayDashboardClient;
  let ingress: IngressClient;
  let render: RenderSettings;
  let badSource: string;
  let goodReplicas: string[] = [];

  const put = (models: ModelConfig[], app = APP) => dashboard.putServeApplications(renderSingleAppBody(renderManagedApplication(app, models), []));
  const good = (marker = 'r1', replicas = 1) => renderModelConfig(GOOD, spec('good', { num_replicas: replicas }), marker, render);
  const bad = (marker = 'r1') => renderModelConfig(BAD, spec('bad', { model_source: badSource }), marker, render);
  const assess = (details: ServeDetails, modelId: string, replicas = 1, marker?: string): ModelAssessment =>
    assessModel(details, APP, deploymentNameFor(modelId, render.engine.server_cls), replicas, marker);
  const replicaIds = (details: ServeDetails, modelId: string) =>
    (details.applications[APP]?.deployments[deploymentNameFor(modelId, render.engine.server_cls)]?.replicas ?? []).filter((r) => r.state === 'RUNNING').map((r) => r.replica_id).sort();
  const until = <T>(what: string, check: (details: ServeDetails) => T | undefined | false, timeoutMs = 90_000) =>
    eventually(async () => check(await dashboard.getServeDetails()), timeoutMs, what);

  beforeAll(async () => {
    target = await makeTarget();
    dashboard = new RayDashboardClient(target.dashboardUrl);
    ingress = new IngressClient(target.ingressUrl);
    const config = loadConfig();
    render = { ...renderSettingsOf(config), appName: APP, storageRoot: target.storageRoot };
    badSource = target.failingSource(BAD);
    await dashboard.putServeApplications({ applications: [] });
  });
  afterAll(async () => {
    await dashboard?.putServeApplications({ applications: [] }).catch(() => undefined);
    await target?.close();
  });

  it('runs a model and fails its neighbour with the recorded shapes; the ingress still lists the failed one', async () => {
    await put([good(), bad()]);
    const details = await until('good HEALTHY and bad DEPLOY_FAILED', (d) => assess(d, GOOD).phase === 'healthy' && assess(d, BAD).phase === 'failed' && d);
    const app = details.applications[APP]!;
    expect(app.status).toBe('DEPLOY_FAILED');
    expect(Object.keys(app.deployments).sort()).toEqual(['OpenAiIngress', deploymentNameFor(BAD, render.engine.server_cls), deploymentNameFor(GOOD, render.engine.server_cls)].sort());
    const goodDeployment = app.deployments[deploymentNameFor(GOOD, render.engine.server_cls)]!;
    expect(goodDeployment).toMatchObject({ status: 'HEALTHY', target_num_replicas: 1 });
    expect((goodDeployment.deployment_config as any).ray_actor_options.runtime_env.env_vars.ARGUS_MODEL_REVISION).toBe('r1');
    const badDeployment = app.deployments[deploymentNameFor(BAD, render.engine.server_cls)]!;
    expect(badDeployment).toMatchObject({ status: 'DEPLOY_FAILED', status_trigger: 'REPLICA_STARTUP_FAILED' });
    const failure = assess(details, BAD);
    expect(failure.phase === 'failed' && summarizeRayMessage(failure.message)).toMatch(/config\.json.* is malformed/);
    goodReplicas = replicaIds(details, GOOD);
    expect(goodReplicas).toHaveLength(1);

    const models = (await (await fetch(`${target.ingressUrl}/v1/models`)).json()) as { object: string; data: Array<{ id: string; object: string }> };
    expect(models.object).toBe('list');
    expect(models.data.map((m) => m.id).sort()).toEqual([BAD, GOOD].sort());
    expect(models.data.every((m) => m.object === 'model')).toBe(true);
    expect(await ingress.listsModel(BAD)).toMatchObject({ ok: true }); // so listing proves nothing on its own
    const chat = await fetch(`${target.ingressUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: GOOD, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 1 }),
    });
    expect(chat.status).toBe(200);
    const answer = (await chat.json()) as { object: string; model: string; choices: Array<{ message: { role: string; content: string } }> };
    expect(answer).toMatchObject({ object: 'chat.completion', model: GOOD });
    expect(typeof answer.choices[0]?.message.content).toBe('string');
    expect(await ingress.answersChat(GOOD)).toEqual({ ok: true, detail: 'answered' });
  });

  it('ignores an identical PUT, even while a deployment is DEPLOY_FAILED', async () => {
    await put([good(), bad()]);
    for (let i = 0; i < 8; i++) {
      const details = await dashboard.getServeDetails();
      expect(details.applications[APP]?.deployments[deploymentNameFor(BAD, render.engine.server_cls)]?.status).toBe('DEPLOY_FAILED');
      expect(replicaIds(details, GOOD)).toEqual(goodReplicas);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  it('acts on a new marker and a new replica count in the deployment overrides, touching only the deployments they name', async () => {
    await put([good('r1', 2), bad('r2')]);
    const details = await until('good at 2 replicas and bad retried under r2', (d) => {
      const retried = (d.applications[APP]?.deployments[deploymentNameFor(BAD, render.engine.server_cls)]?.deployment_config as any)?.ray_actor_options?.runtime_env?.env_vars?.ARGUS_MODEL_REVISION === 'r2';
      return retried && assess(d, GOOD, 2).phase === 'healthy' && d;
    });
    // Scaling added a replica and kept the one that was running.
    expect(replicaIds(details, GOOD)).toEqual(expect.arrayContaining(goodReplicas));
    expect(replicaIds(details, GOOD)).toHaveLength(2);
    goodReplicas = replicaIds(details, GOOD);
  });

  it("restarts every model's replicas when the app's args change (why replicas and markers live in the overrides)", async () => {
    await put([good('r1', 2)]);
    const details = await until('bad gone and good running two new replicas', (d) => {
      const app = d.applications[APP];
      const ids = replicaIds(d, GOOD);
      return app && !app.deployments[deploymentNameFor(BAD, render.engine.server_cls)] && app.status === 'RUNNING' && ids.length === 2 && !ids.some((id) => goodReplicas.includes(id)) && d;
    });
    expect(assess(details, GOOD, 2).phase).toBe('healthy');
  });

  it('replaces the whole set of apps: an app left out of a PUT is deleted', async () => {
    await dashboard.putServeApplications(renderSingleAppBody({ ...renderManagedApplication('contract_other', [good()]), route_prefix: '/other' }, []));
    await until(`${APP} deleted and contract_other present`, (d) => !d.applications[APP] && d.applications.contract_other !== undefined);
  });
});
