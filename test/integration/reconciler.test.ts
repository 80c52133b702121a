import type { Pool } from 'pg';
import type { ModelCommands } from '../../src/api/modelCommands';
import { toServingModel } from '../../src/api/servingModelView';
import { getModel, listEvents } from '../../src/db/models';
import { listClusterEvents } from '../../src/db/observations';
import type { ModelState } from '../../src/domain/lifecycle';
import type { RayDouble } from '../support/rayDouble';
import { testSpec as spec } from '../support/servingSpecs';
import { useDoubleStack } from '../support/doubleStack';
import { eventually, type RunningStack } from '../support/stack';
import { MODEL_STATE, workflowIdFor } from '../../src/workflows/searchAttributes';

/**
 * Drift after RUNNING, against real Temporal and Postgres with the Ray double standing in for the
 * faults: the reconciler sees each drift in one status read per pass, the model's own workflow
 * records and repairs it, and the model never stays RUNNING while the cluster does not serve it.
 */
// Readiness timeout 10 s: how long a replica Ray starts in place of a failed one is left to it.
const env = useDoubleStack({ readinessTimeoutS: 10, reconcile: { interval_s: 0.5, replica_grace_s: 1, ray_recovery_wait_s: 4, remind_after_s: 5 } });
// The stack's parts, read once beforeAll has started it.
const ray = (): RayDouble => env.ray;
const stack = (): RunningStack => env.stack;
const commands = (): ModelCommands => env.commands;
const pool = (): Pool => env.stack.pool;

const stateOf = async (key: string) => (await getModel(pool(), key))?.state;
const eventTypes = async (key: string) => (await listEvents(pool(), key)).map((e) => e.eventType);
const reaches = (key: string, state: ModelState, after: (types: string[]) => boolean = () => true, timeoutMs = 30_000) =>
  eventually(async () => (await stateOf(key)) === state && after(await eventTypes(key)), timeoutMs, `${key} to reach ${state}`).catch(async (err: Error) => {
    throw new Error(`${err.message}; it is ${await stateOf(key)} after events ${(await eventTypes(key)).join(', ')}`);
  });
const count = (types: string[], type: string) => types.filter((t) => t === type).length;
const appsOf = (key: string) => ray().appNames().filter((name) => name.includes(`--${key}--`));
const view = async (key: string) => toServingModel((await getModel(pool(), key))!, stack().config.serving.openai_base_url);

/** Deploys a model and waits until it is RUNNING and the reconciler has seen it healthy. */
async function running(suffix: string) {
  const ack = await commands().deploy('alice', spec(suffix));
  await reaches(ack.model_key, 'RUNNING');
  await eventually(async () => (await view(ack.model_key)).replicas.running === 1, 10_000, `${suffix} observed`);
  const row = (await getModel(pool(), ack.model_key))!;
  return { key: ack.model_key, modelId: `${row.prefix}-${suffix}` };
}

describe('the cluster reconciler', () => {
  it('shows the observed replicas and when the model was last healthy, and raises no alarm on a quiet cluster', async () => {
    const a = await running('quiet-a.1');
    const puts = ray().puts.length;
    await new Promise((r) => setTimeout(r, 3_000)); // about six passes
    const shown = await view(a.key);
    expect(shown.state).toBe('RUNNING');
    expect(shown.replicas).toEqual({ running: 1, target: 1, note: null });
    expect(Date.now() - Date.parse(shown.last_healthy_at as string)).toBeLessThan(3_000);
    expect(await eventTypes(a.key)).not.toContain('DRIFT_DETECTED');
    expect(ray().puts.length).toBe(puts); // nothing re-sent
  });

  // The cluster's own repairs come first, while the models of this file are idle: any PUT of the
  // desired set also drops an orphan and carries the ingress, so a model's repair running at the
  // same time would mend them without the reconciler's event.
  it('an orphan app named like ours is removed; an app of someone else is kept', async () => {
    await running('orphan-neighbour');
    const orphan = `${stack().config.serving.app_name}--svc-ghost-20261130-000000-abcd--r1`;
    ray().addForeignApp({ name: orphan, import_path: 'argus_serve.builders:build_model_app', route_prefix: null, args: {}, deployments: [] });
    ray().addForeignApp({ name: 'someone_elses_app', import_path: 'their.module:app', route_prefix: '/theirs', args: {}, deployments: [] });
    await eventually(async () => !ray().appNames().includes(orphan), 10_000, 'the orphan removed');
    expect(ray().appNames()).toContain('someone_elses_app');
    const events = await listClusterEvents(pool(), stack().config.serving.cluster_id);
    expect(events.find((e) => e.eventType === 'ORPHAN_APPS_REMOVED')?.payload).toMatchObject({ app_names: [orphan] });
  });

  it('the ingress removed by hand is sent again with every route', async () => {
    const a = await running('ingress-gone');
    ray().removeApp(stack().config.serving.app_name);
    await eventually(async () => ray().ingressRoutes()?.some((r) => r.model_id === a.modelId), 10_000, 'the ingress back');
    const events = await listClusterEvents(pool(), stack().config.serving.cluster_id);
    expect(events.find((e) => e.eventType === 'INGRESS_RESENT')?.payload.reason).toMatch(/ingress app .* is not on the cluster/);
    expect(await stateOf(a.key)).toBe('RUNNING');
  });

  it('a dashboard that does not answer for a while is no drift', async () => {
    const a = await running('dashboard-down');
    ray().faults.dashboardDown = true;
    await new Promise((r) => setTimeout(r, 2_500));
    ray().faults.dashboardDown = false;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await stateOf(a.key)).toBe('RUNNING');
    expect(await eventTypes(a.key)).not.toContain('DRIFT_DETECTED');
  });

  it('an app deleted by hand: DEGRADED with the reason, applied again, RUNNING; the neighbour untouched', async () => {
    const a = await running('qwen-0.5b');
    const b = await running('neighbour');
    const [appA] = appsOf(a.key);
    const [appB] = appsOf(b.key);
    const neighbourReplicas = ray().replicaIds()[`${appB}/${b.modelId}`];

    ray().removeApp(appA as string);
    await reaches(a.key, 'DEGRADED');
    expect((await getModel(pool(), a.key))!.errorSummary).toContain(`its app ${appA} is not on the cluster`);
    await reaches(a.key, 'RUNNING', (t) => t.includes('HEALED'));
    const types = await eventTypes(a.key);
    expect(types.slice(types.indexOf('DRIFT_DETECTED'))).toEqual(['DRIFT_DETECTED', 'REPAIR_STARTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'HEALED']);
    const healed = (await listEvents(pool(), a.key)).find((e) => e.eventType === 'HEALED');
    expect(healed?.payload).toMatchObject({ by: 'repair', repair_attempts: 1 });
    expect(appsOf(a.key)).toEqual([appA]);
    expect((await getModel(pool(), a.key))!.errorSummary).toBeNull();
    expect(ray().replicaIds()[`${appB}/${b.modelId}`]).toEqual(neighbourReplicas);
    expect(await eventTypes(b.key)).not.toContain('DRIFT_DETECTED');
  });

  it('Ray restarted empty: every model DEGRADED, then RUNNING again with the ingress back', async () => {
    const a = await running('restart-a');
    const b = await running('restart-b');
    ray().wipe();
    for (const m of [a, b]) await reaches(m.key, 'RUNNING', (t) => t.includes('HEALED'));
    expect(ray().ingressRoutes()?.map((r) => r.model_id)).toEqual(expect.arrayContaining([a.modelId, b.modelId]));
    for (const m of [a, b]) expect(await eventTypes(m.key)).toContain('DRIFT_DETECTED');
  });

  it('an UNHEALTHY deployment Ray recovers by itself: DEGRADED with Ray\'s message, then RUNNING with no repair', async () => {
    const a = await running('flaky');
    ray().faults.unhealthyModels.add(a.modelId);
    await reaches(a.key, 'DEGRADED');
    expect((await getModel(pool(), a.key))!.errorSummary).toMatch(/replicas ready 0\/1: .*health check/);
    expect((await view(a.key)).replicas).toEqual({ running: 0, target: 1, note: null });
    // The operator's view: the state search attribute and the workflow's current details.
    const handle = stack().client.workflow.getHandle(workflowIdFor(a.key));
    await eventually(async () => (await handle.describe()).typedSearchAttributes.get(MODEL_STATE) === 'DEGRADED', 10_000, 'ArgusModelState DEGRADED');
    const { currentDetails } = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
    expect(currentDetails).toMatch(/^\*\*DEGRADED\*\* .*flaky[\s\S]*replicas ready 0\/1: .*health check/);
    ray().faults.unhealthyModels.delete(a.modelId); // Ray replaced the replica
    await reaches(a.key, 'RUNNING', (t) => t.includes('HEALED'));
    const types = await eventTypes(a.key);
    expect(types).not.toContain('REPAIR_STARTED');
    expect((await listEvents(pool(), a.key)).find((e) => e.eventType === 'HEALED')?.payload).toMatchObject({ by: 'ray' });
  });

  it('a replacement replica that takes longer than ray_recovery_wait_s is left to Ray, not restarted', async () => {
    const a = await running('slow-start');
    // STARTING for 8 s: past the 4 s wait, within the 10 s a start may take.
    ray().loseReplicas('slow-start', 1, 8_000);
    await reaches(a.key, 'DEGRADED');
    await reaches(a.key, 'RUNNING', (t) => t.includes('HEALED'));
    expect(await eventTypes(a.key)).not.toContain('REPAIR_STARTED');
    expect((await listEvents(pool(), a.key)).find((e) => e.eventType === 'HEALED')?.payload).toMatchObject({ by: 'ray', repair_attempts: 0 });
  });

  it('replicas short past the grace period and not recovered by Ray in time: restarted with a new marker', async () => {
    const a = await running('stuck');
    const [app] = appsOf(a.key);
    const before = ray().replicaIds()[`${app}/${a.modelId}`];
    ray().loseReplicas('stuck', 1, Infinity);
    const lostAt = Date.now();
    await reaches(a.key, 'DEGRADED');
    await reaches(a.key, 'RUNNING', (t) => t.includes('HEALED'));
    const repair = (await listEvents(pool(), a.key)).find((e) => e.eventType === 'REPAIR_STARTED');
    expect(repair?.payload).toMatchObject({ restart: true, attempt: 1 });
    // A replica stuck STARTING is given the readiness timeout (10 s), then restarted.
    expect(repair!.createdAt.getTime() - lostAt).toBeGreaterThanOrEqual(10_000);
    expect(ray().replicaIds()[`${app}/${a.modelId}`]).not.toEqual(before);
  });

  it('a model whose checkpoint vanished stays DEGRADED with the reason and is retried until it serves again', async () => {
    const a = await running('vanishing');
    ray().faults.failingSources.add('/hf/demo/tiny-chat');
    ray().removeApp(appsOf(a.key)[0] as string);
    await reaches(a.key, 'DEGRADED', (t) => t.includes('REPAIR_FAILED'));
    const summary = (await getModel(pool(), a.key))!.errorSummary;
    expect(summary).toMatch(/repair attempt 1 failed: .*malformed/);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await stateOf(a.key)).toBe('DEGRADED'); // never silently RUNNING
    ray().faults.failingSources.delete('/hf/demo/tiny-chat');
    await reaches(a.key, 'RUNNING', (t) => t.includes('HEALED'), 60_000);
    expect(count(await eventTypes(a.key), 'REPAIR_STARTED')).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('a request while DEGRADED takes over the repair; a delete while DEGRADED removes the model', async () => {
    const a = await running('taken-over');
    ray().faults.unhealthyModels.add(a.modelId);
    await reaches(a.key, 'DEGRADED');
    ray().faults.unhealthyModels.delete(a.modelId);
    await commands().scale(a.key, 2);
    await reaches(a.key, 'RUNNING', (t) => t.includes('SCALE_REQUESTED') && t.lastIndexOf('RUNNING') > t.indexOf('SCALE_REQUESTED'));
    expect((await view(a.key)).num_replicas).toBe(2);

    const b = await running('deleted-degraded');
    ray().removeApp(appsOf(b.key)[0] as string);
    ray().faults.holdReady.add('deleted-degraded'); // the repair cannot finish before the delete
    await reaches(b.key, 'DEGRADED');
    await commands().delete(b.key);
    await reaches(b.key, 'DELETED');
    expect(appsOf(b.key)).toEqual([]);
    ray().faults.holdReady.delete('deleted-degraded');
  });

});
