import type { Pool } from 'pg';
import { request } from 'undici';
import { ModelCommands } from '../src/api/modelCommands';
import { toServingModel } from '../src/api/servingModelView';
import { getModel, listEvents } from '../src/db/models';
import { listClusterEvents } from '../src/db/observations';
import type { EventType } from '../src/domain/lifecycle';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { startClusterWorkflows } from '../src/worker/startClusterWorkflows';
import { clusterReconcilerWorkflowId } from '../src/workflows/clusterReconcilerWorkflow';
import { testSpec as spec } from '../test/support/servingSpecs';
import { eventually, RunningStack, startStack, testConfig } from '../test/support/stack';
import { atScale, Figure, mustBeZero, recordFigures } from './support/figures';
import { stackAction } from './support/stackControl';

/**
 * Drift after RUNNING on a real Ray node (the stand-in engine in its replicas): a second node
 * lost, a quiet cluster, an app deleted and an orphan app left through the dashboard, a replica
 * killed, the Ray head restarted. The reconciler must notice each one, the model's own workflow
 * record and heal it, no model may be lost, and a quiet cluster must raise no alarm.
 */
const QUIET_S = atScale(10, 600);
const SECOND_NODE_GPUS = 2;
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
let dashboard: RayDashboardClient;
let ingressUrl: string;

beforeAll(async () => {
  const config = testConfig();
  // One look a second; a replica missing for 2 s is a drift; Ray gets 15 s to recover one itself.
  config.serving.reconcile = { interval_s: 1, replica_grace_s: 2, ray_recovery_wait_s: 15, remind_after_s: 5 };
  stack = await startStack(config);
  pool = stack.pool;
  commands = new ModelCommands(pool, stack.client, config);
  dashboard = new RayDashboardClient(config.serving.ray_dashboard_url);
  ingressUrl = config.serving.ingress_url;
  await clearCluster();
  await startClusterWorkflows(config);
});
afterAll(async () => {
  await stack?.client.workflow.getHandle(clusterReconcilerWorkflowId(stack.config.serving.cluster_id)).terminate('scenarios over').catch(() => undefined);
  await stackAction('kill-node').catch(() => undefined);
  await stack?.close();
});

// ---- what the scenarios look at ----

interface RawStatus {
  applications: Record<
    string,
    { status: string; deployed_app_config?: Record<string, unknown> | null; deployments: Record<string, { status: string; replicas: Array<{ state: string; pid?: number; node_id?: string }> }> }
  >;
}
const rawStatus = async () => (await dashboard.getServeStatusJson()) as RawStatus;

/** Apps left by earlier test files (their rows are gone): put the cluster back to empty first. */
async function clearCluster() {
  await dashboard.putServeApplications({ applications: [] });
  await eventually(async () => Object.keys((await rawStatus()).applications).length === 0, 60_000, 'an empty cluster');
}

/** Every app as Ray reports it deployed, for a PUT made "by hand" through the dashboard. */
async function deployedApps(): Promise<Array<Record<string, unknown>>> {
  return Object.values((await rawStatus()).applications).flatMap((a) => (a.deployed_app_config ? [a.deployed_app_config] : []));
}

const appsOf = async (key: string) => Object.keys((await rawStatus()).applications).filter((name) => name.includes(`--${key}--`));

async function replicasOf(key: string) {
  const status = await rawStatus();
  const [app] = Object.keys(status.applications).filter((name) => name.includes(`--${key}--`));
  const deployments = Object.values(status.applications[app as string]?.deployments ?? {});
  return deployments.flatMap((d) => d.replicas.filter((r) => r.state === 'RUNNING'));
}

const stateOf = async (key: string) => (await getModel(pool, key))?.state;
const firstEventAt = async (key: string, type: EventType, after = 0) =>
  (await listEvents(pool, key)).find((e) => e.eventType === type && e.createdAt.getTime() >= after)?.createdAt.getTime();
const reaches = (key: string, state: string, after: (types: string[]) => boolean = () => true, timeoutMs = 120_000) =>
  eventually(
    async () => (await stateOf(key)) === state && after((await listEvents(pool, key)).map((e) => e.eventType)),
    timeoutMs,
    `${key} to reach ${state}`,
  ).catch(async (err: Error) => {
    const events = (await listEvents(pool, key)).map((e) => e.eventType).join(', ');
    throw new Error(`${err.message}; it is ${await stateOf(key)} (${(await getModel(pool, key))?.errorSummary}) after ${events}`);
  });

async function chat(modelId: string): Promise<number> {
  try {
    const response = await request(`${ingressUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await response.body.text();
    return response.statusCode;
  } catch {
    return 0;
  }
}

/** 1-token chats to some models, four a second each, while a scenario runs. */
function chatLoop(modelIds: string[]) {
  const failed: Record<string, number> = Object.fromEntries(modelIds.map((id) => [id, 0]));
  // Which statuses failed and when, so a miss can be told apart (0 = no answer in 10 s).
  const failures: string[] = [];
  const startedAt = Date.now();
  let sent = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const codes = await Promise.all(modelIds.map(chat));
      codes.forEach((code, i) => {
        if (code === 200) return;
        failed[modelIds[i] as string] = (failed[modelIds[i] as string] ?? 0) + 1;
        failures.push(`${code} at ${Math.round((Date.now() - startedAt) / 1000)} s`);
      });
      sent += modelIds.length;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { sent, failed, failures };
    },
  };
}

async function deployRunning(suffix: string, extra: Parameters<typeof spec>[1] = {}) {
  const ack = await commands.deploy('alice', spec(suffix, extra));
  await reaches(ack.model_key, 'RUNNING');
  const row = (await getModel(pool, ack.model_key))!;
  return { key: ack.model_key, modelId: `${row.prefix}-${suffix}` };
}

async function removeModel(key: string) {
  await commands.delete(key);
  await reaches(key, 'DELETED');
}

const seconds = (ms: number | undefined) => (ms === undefined ? 'not seen' : Number((ms / 1000).toFixed(1)));

async function secondNodeId(): Promise<string> {
  const response = await request(`${stack.config.serving.ray_dashboard_url}/nodes?view=summary`);
  const nodes = ((await response.body.json()) as { data: { summary: Array<{ raylet: { nodeId: string; state: string; resourcesTotal: Record<string, number> } }> } }).data.summary;
  const second = nodes.find((n) => n.raylet.state === 'ALIVE' && Object.keys(n.raylet.resourcesTotal).some((k) => k.replace(/_/g, '').toLowerCase() === 'argussecondnode'));
  if (!second) throw new Error('the second Ray node is not alive');
  return second.raylet.nodeId;
}

describe('drift after RUNNING, on a real Ray node', () => {
  it('ray_node_loss: a model on a lost node is DEGRADED, waits for GPUs, and is placed on the head once room frees', async () => {
    await stackAction('add-node');
    const nodeId = await eventually(() => secondNodeId(), 30_000, 'the second node');
    // The head's 8 GPUs taken, so the next model can only go to the second node.
    const filler = await deployRunning('filler', { gpus_per_replica: 8 });
    const placed = await deployRunning('on-second-node', { gpus_per_replica: SECOND_NODE_GPUS });
    expect((await replicasOf(placed.key)).map((r) => r.node_id)).toEqual([nodeId]);

    const chats = chatLoop([filler.modelId]);
    const killedAt = Date.now();
    await stackAction('kill-node');
    await reaches(placed.key, 'DEGRADED');
    const detectedAt = await firstEventAt(placed.key, 'DRIFT_DETECTED', killedAt);
    // Ray cannot place it anywhere: the model says what it waits for.
    await eventually(async () => /waiting for 2 GPUs/.test((await getModel(pool, placed.key))?.errorSummary ?? ''), 90_000, 'the reason to name the GPUs');
    const waitingReason = (await getModel(pool, placed.key))?.errorSummary ?? '';
    expect(await stateOf(placed.key)).toBe('DEGRADED');

    const { failed, failures } = await chats.stop(); // before the filler goes: its own removal is no failure
    const freedAt = Date.now();
    await removeModel(filler.key);
    await reaches(placed.key, 'RUNNING', (t) => t.includes('HEALED'));
    const healedAt = await firstEventAt(placed.key, 'HEALED', freedAt);
    expect((await replicasOf(placed.key)).map((r) => r.node_id)).not.toContain(nodeId);
    expect(await chat(placed.modelId)).toBe(200);
    const repairs = (await listEvents(pool, placed.key)).filter((e) => e.eventType === 'REPAIR_STARTED').length;
    await removeModel(placed.key);

    recordFigures('ray_node_loss', 'A Ray node with a model on it lost', [
      { name: 'time to detect (s, node killed to DEGRADED)', value: seconds(detectedAt && detectedAt - killedAt) },
      { name: 'reason while no GPU is free', value: waitingReason },
      { name: 'time to heal once GPUs freed (s)', value: seconds(healedAt && healedAt - freedAt) },
      { name: 'repairs (restarts with a new marker) until healed', value: repairs },
      mustBeZero('failed chats to the model on the surviving node', failed[filler.modelId] ?? 0),
      { name: 'failed chats (status at seconds after the kill)', value: failures.join(', ') || 'none' },
      mustBeZero('models lost', (await stateOf(placed.key)) === 'DELETED' ? 0 : 1),
    ]);
  });

  let a: { key: string; modelId: string };
  let b: { key: string; modelId: string };

  it('quiet_cluster: no drift, no repair and no PUT on a cluster nobody touches', async () => {
    a = await deployRunning('qwen-0.5b');
    b = await deployRunning('neighbour');
    const since = Date.now();
    const clusterEventsBefore = (await listClusterEvents(pool, stack.config.serving.cluster_id)).length;
    const chats = chatLoop([a.modelId, b.modelId]);
    await new Promise((r) => setTimeout(r, QUIET_S * 1000));
    const { sent, failed } = await chats.stop();
    const alarms = (await Promise.all([a, b].map(async (m) => (await listEvents(pool, m.key)).filter((e) => e.createdAt.getTime() >= since).length))).reduce((x, y) => x + y, 0);
    const shown = toServingModel((await getModel(pool, a.key))!, stack.config.serving.openai_base_url);
    expect(shown.replicas).toEqual({ running: 1, target: 1, note: null });
    expect(Date.now() - Date.parse(shown.last_healthy_at as string)).toBeLessThan(5_000);
    const clusterRepairs = (await listClusterEvents(pool, stack.config.serving.cluster_id)).length - clusterEventsBefore;
    recordFigures('quiet_cluster', 'A quiet cluster', [
      { name: 'watched for (s)', value: QUIET_S },
      mustBeZero('false alarms (model events while nothing changed)', alarms),
      mustBeZero('cluster repairs', clusterRepairs),
      { name: 'chats sent', value: sent },
      mustBeZero('failed chats', (failed[a.modelId] ?? 0) + (failed[b.modelId] ?? 0)),
    ]);
    expect(alarms).toBe(0);
  });

  it('app_deleted_by_hand: the app is applied again and the model RUNNING, its neighbour untouched', async () => {
    const [app] = await appsOf(a.key);
    const neighbourReplicas = (await replicasOf(b.key)).map((r) => r.pid);
    const chats = chatLoop([b.modelId, a.modelId]);
    const deletedAt = Date.now();
    await dashboard.putServeApplications({ applications: (await deployedApps()).filter((c) => c.name !== app) as never });
    await reaches(a.key, 'RUNNING', (t) => t.includes('HEALED'));
    const detectedAt = await firstEventAt(a.key, 'DRIFT_DETECTED', deletedAt);
    const healedAt = await firstEventAt(a.key, 'HEALED', deletedAt);
    expect(await chat(a.modelId)).toBe(200);
    const { failed } = await chats.stop();
    expect((await getModel(pool, a.key))?.errorSummary).toBeNull();
    const neighbourKept = JSON.stringify((await replicasOf(b.key)).map((r) => r.pid)) === JSON.stringify(neighbourReplicas);
    recordFigures('app_deleted_by_hand', "A model's app deleted through the dashboard", [
      { name: 'time to detect (s)', value: seconds(detectedAt && detectedAt - deletedAt) },
      { name: 'time to heal (s)', value: seconds(healedAt && healedAt - deletedAt) },
      { name: 'failed chats to the model until healed', value: failed[a.modelId] ?? 0 },
      mustBeZero('failed chats to the neighbour', failed[b.modelId] ?? 0),
      { name: "neighbour's replicas kept", value: String(neighbourKept), target: 'true', ok: neighbourKept },
    ]);
    expect(neighbourKept).toBe(true);
  });

  it('orphan_app: an app named like ours that no model owns is removed, others are kept', async () => {
    const apps = await deployedApps();
    const template = apps.find((c) => String(c.name).includes(`--${a.key}--`)) as Record<string, unknown>;
    const orphan = `${stack.config.serving.app_name}--svc-ghost-20261130-000000-abcd--r1`;
    const leftAt = Date.now();
    await dashboard.putServeApplications({ applications: [...apps, { ...template, name: orphan }] as never });
    await eventually(async () => Object.keys((await rawStatus()).applications).includes(orphan), 30_000, 'the orphan on the cluster');
    await eventually(async () => !Object.keys((await rawStatus()).applications).includes(orphan), 60_000, 'the orphan removed');
    const removedAt = Date.now();
    const event = (await listClusterEvents(pool, stack.config.serving.cluster_id)).find((e) => e.eventType === 'ORPHAN_APPS_REMOVED');
    expect(event?.payload).toMatchObject({ app_names: [orphan] });
    expect(await stateOf(a.key)).toBe('RUNNING');
    expect(await chat(a.modelId)).toBe(200);
    recordFigures('orphan_app', 'An orphan app left on the cluster', [
      { name: 'time to remove (s, PUT by hand to gone)', value: seconds(removedAt - leftAt) },
      { name: 'recorded as a cluster event', value: String(event !== undefined), target: 'true', ok: event !== undefined },
      mustBeZero('models disturbed', (await listEvents(pool, a.key)).filter((e) => e.createdAt.getTime() >= leftAt).length),
    ]);
  });

  it('replica_killed: a killed replica is noticed and replaced; the model RUNNING again', async () => {
    await commands.scale(b.key, 2);
    await reaches(b.key, 'RUNNING', (t) => t.includes('SCALE_REQUESTED') && t.lastIndexOf('RUNNING') > t.indexOf('SCALE_REQUESTED'));
    await eventually(async () => (await replicasOf(b.key)).length === 2, 30_000, 'two replicas');
    const [victim] = await replicasOf(b.key);
    const chats = chatLoop([b.modelId, a.modelId]);
    const killedAt = Date.now();
    process.kill(victim?.pid as number, 'SIGKILL');
    // Ray replaces the replica; the model is DEGRADED while it runs short past the grace period.
    await eventually(async () => (await replicasOf(b.key)).filter((r) => r.pid !== victim?.pid).length === 2, 60_000, 'the replica replaced');
    const replacedAt = Date.now();
    await eventually(async () => (await stateOf(b.key)) === 'RUNNING', 60_000, `${b.key} RUNNING`);
    const { failed } = await chats.stop();
    const detectedAt = await firstEventAt(b.key, 'DRIFT_DETECTED', killedAt);
    const healedAt = await firstEventAt(b.key, 'HEALED', killedAt);
    recordFigures('replica_killed', "One of a model's two replicas killed", [
      { name: 'time for Ray to replace it (s)', value: seconds(replacedAt - killedAt) },
      { name: 'time to detect (s, DEGRADED; not seen: replaced within the grace period)', value: seconds(detectedAt && detectedAt - killedAt) },
      { name: 'time to heal (s)', value: seconds(healedAt && healedAt - killedAt) },
      { name: 'failed chats to the model', value: failed[b.modelId] ?? 0 },
      mustBeZero('failed chats to the other model', failed[a.modelId] ?? 0),
      mustBeZero('models lost', (await stateOf(b.key)) === 'RUNNING' ? 0 : 1),
    ]);
  });

  it('ray_head_restart: every model RUNNING and answering again with no user action', async () => {
    const models = [a, b];
    const figures: Figure[] = [];
    if (atScale(false, true)) {
      // The raw floor: the same apps PUT again by hand into a restarted Ray, polled until RUNNING.
      await stack.client.workflow.getHandle(clusterReconcilerWorkflowId(stack.config.serving.cluster_id)).terminate('baseline');
      const body = await deployedApps();
      await stackAction('stop-ray');
      await stackAction('start-ray');
      const putAt = Date.now();
      await dashboard.putServeApplications({ applications: body as never });
      await eventually(async () => {
        const apps = Object.values((await rawStatus()).applications);
        return apps.length === body.length && apps.every((app) => app.status === 'RUNNING');
      }, 300_000, 'the raw redeploy');
      await eventually(async () => (await Promise.all(models.map((m) => chat(m.modelId)))).every((c) => c === 200), 60_000, 'chats after the raw redeploy');
      figures.push({ name: 'raw: PUT to every app RUNNING and answering (s)', value: seconds(Date.now() - putAt) });
      await startClusterWorkflows(stack.config);
    }
    const chats = chatLoop(models.map((m) => m.modelId));
    const stoppedAt = Date.now();
    await stackAction('stop-ray');
    await stackAction('start-ray');
    const backAt = Date.now();
    // Healed after the restart: a HEALED event newer than Ray's return, and RUNNING.
    for (const m of models) {
      await eventually(async () => (await firstEventAt(m.key, 'HEALED', backAt)) !== undefined && (await stateOf(m.key)) === 'RUNNING', 300_000, `${m.key} healed`);
    }
    await eventually(async () => (await Promise.all(models.map((m) => chat(m.modelId)))).every((c) => c === 200), 60_000, 'chats after the restart');
    const answeringAt = Date.now();
    const { sent, failed } = await chats.stop();
    const detected = await Promise.all(models.map((m) => firstEventAt(m.key, 'DRIFT_DETECTED', backAt)));
    const healed = await Promise.all(models.map((m) => firstEventAt(m.key, 'HEALED', backAt)));
    const lost = (await Promise.all(models.map((m) => stateOf(m.key)))).filter((s) => s !== 'RUNNING').length;
    recordFigures('ray_head_restart', 'The Ray head restarted (ray stop, ray start) with models RUNNING', [
      ...figures,
      { name: 'models', value: models.length },
      { name: 'Ray down (s, stop to dashboard answering)', value: seconds(backAt - stoppedAt) },
      { name: 'time to detect (s, dashboard back to last model DEGRADED)', value: seconds(Math.max(...detected.map((t) => (t ?? Infinity) - backAt))) },
      { name: 'time to heal (s, dashboard back to last model RUNNING)', value: seconds(Math.max(...healed.map((t) => (t ?? Infinity) - backAt))) },
      { name: 'time until every model answers (s, dashboard back)', value: seconds(answeringAt - backAt) },
      { name: 'chats failed during the restart (of sent)', value: `${Object.values(failed).reduce((x, y) => x + y, 0)} of ${sent}` },
      mustBeZero('models lost', lost),
    ]);
    expect(lost).toBe(0);
    for (const m of models) await removeModel(m.key);
  });
});
