import { readFileSync } from 'node:fs';
import path from 'node:path';
import { nextObservation, ObservePolicy } from '../../src/activities/observeCluster';
import type { StoredObservation } from '../../src/db/observations';
import { assessCluster, DesiredModel, ModelObservation } from '../../src/ray/clusterDrift';
import { ingressUserConfig } from '../../src/ray/ingressApp';

/** Models A and C RUNNING, D failed to start (recorded on Ray 2.58, one app per model). */
const recorded = JSON.parse(readFileSync(path.resolve(__dirname, '../../python/tests/fixtures/get-applications-with_failed_D.json'), 'utf8'));
const settings = { appName: 'argus_llm_app' };

const model = (letter: string, overrides: Partial<DesiredModel> = {}): DesiredModel => ({
  modelKey: `svc-${letter}`,
  modelId: letter,
  state: 'RUNNING',
  pending: false,
  placement: true,
  routedApp: `model-${letter}`,
  deploymentName: `StandInLLMServer:${letter}`,
  targetReplicas: 1,
  knownApps: [`model-${letter}`],
  ...overrides,
});

describe('assessCluster on a recorded status', () => {
  it('sees a running model healthy, a failed one unhealthy with the root cause, and an absent app missing', () => {
    const { models } = assessCluster(recorded, [model('A'), model('D'), model('B')], settings);
    const byKey = Object.fromEntries(models.map((m) => [m.modelKey, m]));
    expect(byKey['svc-A']).toEqual({ modelKey: 'svc-A', health: 'healthy', running: 1, target: 1, message: '' });
    expect(byKey['svc-D']?.health).toBe('unhealthy');
    expect(byKey['svc-D']?.message).toMatch(/Error/);
    expect(byKey['svc-D']?.message).not.toMatch(/\n/);
    expect(byKey['svc-B']).toMatchObject({ health: 'missing', running: 0 });
    expect(byKey['svc-B']?.message).toContain('model-B is not on the cluster');
  });

  it('sees a model scaled to zero healthy, and a failed cold start as its own cause', () => {
    const atZero = JSON.parse(readFileSync(path.resolve(__dirname, '../../python/tests/fixtures/get-applications-scale_zero_at_zero.json'), 'utf8'));
    const [z] = assessCluster(atZero, [model('Z', { targetReplicas: 0 })], settings).models;
    expect(z).toEqual({ modelKey: 'svc-Z', health: 'healthy', running: 0, target: 0, message: '' });
    // What Ray 2.58 shows when the replica a request woke fails to start: UNHEALTHY, not DEPLOY_FAILED.
    const deployment = atZero.applications['model-Z'].deployments['StandInLLMServer:Z'];
    Object.assign(deployment, { status: 'UNHEALTHY', status_trigger: 'REPLICA_STARTUP_FAILED', target_num_replicas: 1, message: 'FileNotFoundError: model directory gone' });
    const [failed] = assessCluster(atZero, [model('Z', { targetReplicas: 0 })], settings).models;
    expect(failed).toMatchObject({ health: 'unhealthy', running: 0, target: 1, coldStartFailed: true });
    expect(failed?.message).toMatch(/^cold start failed: FileNotFoundError/);
    // The same failure of a model that keeps replicas is an ordinary unhealthy deployment.
    const [kept] = assessCluster(atZero, [model('Z', { targetReplicas: 1 })], settings).models;
    expect(kept?.coldStartFailed).toBeUndefined();
  });

  it('says when Ray is starting a replica in place of a failed one, and only then', () => {
    const status = structuredClone(recorded);
    const deployment = status.applications['model-A'].deployments['StandInLLMServer:A'];
    const [running] = deployment.replicas;
    // What Ray 2.58 showed after a replica's vLLM engine was killed: UNHEALTHY while the replacement starts.
    Object.assign(deployment, {
      status: 'UNHEALTHY',
      status_trigger: 'HEALTH_CHECK_FAILED',
      message: "A replica's health check failed. This deployment will be UNHEALTHY until the replica recovers or a new deploy happens.",
      replicas: [{ ...running, state: 'STOPPING' }, { ...running, replica_id: 'new', state: 'STARTING' }],
    });
    const [replacing] = assessCluster(status, [model('A')], settings).models;
    expect(replacing).toMatchObject({ health: 'unhealthy', running: 0, replacing: true });
    expect(replacing?.message).toMatch(/health check failed.*\(Ray is starting a new replica\)$/);
    // A replica STARTING on no node waits for room (a lost node): not a replacement under way.
    deployment.replicas = [{ ...running, state: 'STARTING', node_id: null, actor_id: null }];
    const unplaced = assessCluster(status, [model('A')], settings).models[0];
    expect(unplaced?.replacing).toBeUndefined();
    expect(unplaced?.message).not.toMatch(/new replica/);
    // Nothing starting: a health check failing on a replica Ray keeps, or a deployment Ray gave up on.
    deployment.replicas = [{ ...running, state: 'RUNNING' }];
    expect(assessCluster(status, [model('A')], settings).models[0]?.replacing).toBeUndefined();
    Object.assign(deployment, { status: 'DEPLOY_FAILED', replicas: [{ ...running, state: 'STARTING' }] });
    expect(assessCluster(status, [model('A')], settings).models[0]?.replacing).toBeUndefined();
    // Short of replicas while one starts: replacing; short with none starting: not.
    Object.assign(deployment, { status: 'UPDATING', message: '', replicas: [{ ...running, state: 'STARTING' }] });
    expect(assessCluster(status, [model('A')], settings).models[0]).toMatchObject({ health: 'short', replacing: true });
    deployment.replicas = [];
    expect(assessCluster(status, [model('A')], settings).models[0]).toMatchObject({ health: 'short', running: 0 });
    expect(assessCluster(status, [model('A')], settings).models[0]?.replacing).toBeUndefined();
  });

  it("judges an autoscaled model against its floor, and shows the autoscaler's target", () => {
    const [a] = assessCluster(recorded, [model('A', { targetReplicas: 0 })], settings).models;
    expect(a).toMatchObject({ health: 'healthy', running: 1, target: 1 });
  });

  it('calls a model short when fewer replicas run than asked', () => {
    const [a] = assessCluster(recorded, [model('A', { targetReplicas: 2 })], settings).models;
    expect(a).toMatchObject({ health: 'short', running: 1, target: 2 });
  });

  it('judges only settled entries of RUNNING or DEGRADED models in their own apps', () => {
    const desired = [
      model('A', { pending: true }),
      model('B', { state: 'DEPLOYING' }),
      model('C', { state: 'DEGRADED' }),
      model('D', { state: 'FAILED' }),
      model('E', { placement: false }),
    ];
    expect(assessCluster(recorded, desired, settings).models.map((m) => m.modelKey)).toEqual(['svc-C']);
  });
});

describe('assessCluster: orphans and the ingress', () => {
  const ours = (key: string, marker = 'r1') => `${settings.appName}--${key}--${marker}`;
  const ingressApp = (desired: DesiredModel[]) => ({
    status: 'RUNNING',
    deployed_app_config: {
      deployments: [
        {
          name: 'ArgusIngress',
          user_config: ingressUserConfig(
            desired.map((d) => ({
              layout: 'app-per-model' as const,
              model_id: d.modelId,
              routed_app: d.routedApp as string,
              apps: [{ app_name: d.routedApp as string, marker: 'r1', llm_config: { engine_kwargs: {} } as never, deployment: { name: d.deploymentName } as never }],
            })),
          ),
        },
      ],
    },
    deployments: {},
  });
  const running = { status: 'RUNNING', deployments: { 'StandInLLMServer:x': { status: 'HEALTHY', replicas: [{ state: 'RUNNING' }] } } };
  const desired = [model('x', { routedApp: ours('svc-x'), knownApps: [ours('svc-x')], deploymentName: 'StandInLLMServer:x' })];

  it('finds an app named like ours that no model owns, and nothing else', () => {
    const raw = { applications: { [ours('svc-x')]: running, [ours('svc-ghost')]: running, someone_elses: running, [settings.appName]: ingressApp(desired) } };
    const result = assessCluster(raw, desired, settings);
    expect(result.orphans).toEqual([ours('svc-ghost')]);
    expect(result.ingressDrift).toBeNull();
  });

  it('never takes an app for an orphan while a change is on its way or models still use the single app', () => {
    const raw = { applications: { [ours('svc-ghost')]: running } };
    expect(assessCluster(raw, [...desired, model('y', { pending: true })], settings).orphans).toEqual([]);
    expect(assessCluster(raw, [...desired, model('z', { placement: false })], settings).orphans).toEqual([]);
  });

  it('keeps an app a model last applied (a retired revision on its way out) out of the orphans', () => {
    const raw = { applications: { [ours('svc-x', 'r2')]: running } };
    expect(assessCluster(raw, [{ ...desired[0]!, knownApps: [ours('svc-x'), ours('svc-x', 'r2')] }], settings).orphans).toEqual([]);
  });

  it('says when the ingress is missing, routes a model elsewhere, or routes one it should not', () => {
    expect(assessCluster({ applications: { [ours('svc-x')]: running } }, desired, settings).ingressDrift).toMatch(/ingress app argus_llm_app is not on the cluster/);
    const elsewhere = [{ ...desired[0]!, routedApp: ours('svc-x', 'r2') }];
    expect(assessCluster({ applications: { [settings.appName]: ingressApp(elsewhere) } }, desired, settings).ingressDrift).toMatch(/does not route x as asked/);
    const extra = [...desired, model('gone', { routedApp: ours('svc-gone') })];
    expect(assessCluster({ applications: { [settings.appName]: ingressApp(extra) } }, desired, settings).ingressDrift).toMatch(/routes gone, which the cluster should not serve/);
    expect(assessCluster({ applications: {} }, [], settings).ingressDrift).toBeNull();
  });
});

describe('nextObservation', () => {
  const policy: ObservePolicy = { replicaGraceS: 30, remindAfterS: 60 };
  const t = (s: number) => new Date(Date.UTC(2026, 10, 30, 0, 0, s));
  const seen = (health: ModelObservation['health'], running = health === 'healthy' ? 1 : 0): ModelObservation => ({
    modelKey: 'svc-a',
    health,
    running,
    target: 1,
    message: health === 'healthy' ? '' : `it is ${health}`,
  });
  /** Feeds looks one pass apart (10 s) and returns what each pass decided. */
  function run(looks: Array<ModelObservation['health']>, modelState: (pass: number) => string = () => 'RUNNING') {
    let stored: StoredObservation | null = null;
    return looks.map((health, i) => {
      const step = nextObservation(stored, seen(health), modelState(i), { now: t(i * 10), previousPass: t(Math.max(0, i - 1) * 10), policy });
      stored = step.row;
      return step;
    });
  }

  it('says nothing about a healthy model, and writes its row only once', () => {
    const steps = run(['healthy', 'healthy', 'healthy']);
    expect(steps.map((s) => s.notify)).toEqual([false, false, false]);
    expect(steps.map((s) => s.changed)).toEqual([true, false, false]);
  });

  it('reports a missing app and an unhealthy deployment at once', () => {
    expect(run(['healthy', 'missing'])[1]).toMatchObject({ verdict: 'missing', notify: true });
    expect(run(['healthy', 'unhealthy'])[1]).toMatchObject({ verdict: 'degraded', notify: true });
  });

  it('gives a model short of replicas the grace period before calling it degraded', () => {
    const steps = run(['healthy', 'short', 'short', 'short', 'short']);
    expect(steps.map((s) => s.verdict)).toEqual(['healthy', 'healthy', 'healthy', 'healthy', 'degraded']);
    expect(steps.map((s) => s.notify)).toEqual([false, false, false, false, true]);
  });

  it('reports healing, and remembers when the model was last seen healthy', () => {
    const steps = run(['healthy', 'healthy', 'missing', 'missing', 'healthy'], (i) => (i >= 3 ? 'DEGRADED' : 'RUNNING'));
    expect(steps[2]?.row.lastHealthyAt).toEqual(t(10));
    expect(steps[3]?.row.lastHealthyAt).toEqual(t(10));
    expect(steps[4]).toMatchObject({ verdict: 'healthy', notify: true });
    expect(steps[4]?.row.lastHealthyAt).toBeNull(); // healthy now: the reader shows the last pass
  });

  it('reminds a model whose state still contradicts the cluster, no more often than remindAfterS', () => {
    const steps = run(Array(10).fill('missing'));
    // Reported at 0 s (first look), then again at 60 s: the notice may have been lost.
    expect(steps.map((s) => s.notify)).toEqual([true, false, false, false, false, false, true, false, false, false]);
    const quiet = run(Array(10).fill('missing'), (i) => (i === 0 ? 'RUNNING' : 'DEGRADED'));
    expect(quiet.filter((s) => s.notify)).toHaveLength(1);
  });

  it('tells a DEGRADED model first seen healthy that it is healthy', () => {
    expect(run(['healthy'], () => 'DEGRADED')[0]).toMatchObject({ verdict: 'healthy', notify: true });
  });

  it("tells a degraded model when Ray's words about it change, once per change", () => {
    let stored: StoredObservation | null = null;
    const look = (i: number, message: string) => {
      const step = nextObservation(stored, { ...seen('unhealthy'), message }, i === 0 ? 'RUNNING' : 'DEGRADED', { now: t(i * 10), previousPass: t(Math.max(0, i - 1) * 10), policy });
      stored = step.row;
      return step.notify;
    };
    // A lost node: the replica Ray starts elsewhere waits for GPUs, which Ray says after a while.
    expect([look(0, 'health check failed'), look(1, 'health check failed'), look(2, 'waiting for 2 GPUs'), look(3, 'waiting for 2 GPUs')]).toEqual([true, false, true, false]);
  });

  it('never reports a short model within its grace period as healthy to a DEGRADED model', () => {
    const steps = run(['missing', 'short', 'short'], () => 'DEGRADED');
    expect(steps.map((s) => s.verdict)).toEqual(['missing', 'missing', 'missing']);
    expect(steps.slice(1).map((s) => s.notify)).toEqual([false, false]);
  });
});
