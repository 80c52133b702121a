import { INGRESS_DEPLOYMENT } from './ingressApp';
import { modelAppPrefix } from './modelPlacement';
import { describeUnscheduledReplicas, stripAnsi, summarizeRayMessage } from './serveStatus';

/**
 * One model's entry in the cluster's desired set, reduced to what the reconciler compares with
 * Ray (the database hands over these few fields, not the rendered configs).
 */
export interface DesiredModel {
  modelKey: string;
  modelId: string;
  /** The model row's state: only RUNNING and DEGRADED models are judged. */
  state: string;
  /** A change not yet on the cluster: Ray is not expected to match it. */
  pending: boolean;
  /** False for an entry of the previous (single-app) layout, or one moving out of it. */
  placement: boolean;
  routedApp: string | null;
  deploymentName: string | null;
  targetReplicas: number;
  /** Every app the entry names, desired or last applied: none of them is an orphan. */
  knownApps: string[];
}

/**
 * How one model stands on the cluster in one look:
 * - healthy: its routed deployment HEALTHY with every replica it should have RUNNING;
 * - short: fewer RUNNING replicas than asked (Ray may be replacing one: judged after a grace period);
 * - unhealthy: the deployment UNHEALTHY or DEPLOY_FAILED (Ray says so itself);
 * - missing: its app is not on the cluster (Ray restarted, or the app was removed by hand).
 */
export type ObservedHealth = 'healthy' | 'short' | 'unhealthy' | 'missing';

export interface ModelObservation {
  modelKey: string;
  health: ObservedHealth;
  running: number;
  target: number;
  /** In words a person can act on; empty when healthy. */
  message: string;
  /** Ray cannot place some replicas for want of resources (its message says so). */
  unscheduled?: boolean;
  /** A model scaled to zero could not start a replica for a request. */
  coldStartFailed?: boolean;
  /** Ray is starting a replica in place of one that failed (a replica STARTING on a node while short or UNHEALTHY). */
  replacing?: boolean;
}

export interface ClusterAssessment {
  models: ModelObservation[];
  /** Apps named like this product's model apps that belong to no model. */
  orphans: string[];
  /** Why the ingress does not route as the desired set says (null: it does, or cannot be judged now). */
  ingressDrift: string | null;
}

interface RawDeployment {
  status?: string;
  status_trigger?: string;
  target_num_replicas?: number;
  message?: string;
  replicas?: Array<{ state?: string; node_id?: string | null }>;
}
interface RawApp {
  status?: string;
  message?: string;
  deployments?: Record<string, RawDeployment>;
  deployed_app_config?: { deployments?: Array<{ name?: string; user_config?: { models?: Array<{ model_id?: string; app_name?: string }> } }> } | null;
}

const firstLine = (text: string | undefined) => stripAnsi(text ?? '').split('\n').find((l) => l.trim())?.trim() ?? '';

/**
 * Compares the desired set with one read of Ray's Serve status. Pure, and walks each app once:
 * at thousands of models the status is megabytes, so nothing here validates more than it reads.
 */
export function assessCluster(raw: unknown, desired: DesiredModel[], settings: { appName: string }): ClusterAssessment {
  const applications = ((raw as { applications?: Record<string, RawApp> } | null)?.applications ?? {}) as Record<string, RawApp>;
  const models: ModelObservation[] = [];
  for (const entry of desired) {
    if (entry.pending || !entry.placement || entry.routedApp === null || entry.deploymentName === null) continue;
    if (entry.state !== 'RUNNING' && entry.state !== 'DEGRADED') continue;
    models.push(observeModel(applications, entry));
  }
  const legacy = desired.some((e) => !e.placement);
  const known = new Set(desired.flatMap((e) => e.knownApps));
  const prefix = modelAppPrefix(settings);
  // While models move out of the single-app layout, or a change is on its way, the cluster is
  // expected to differ from the set: nothing is taken for an orphan or a wrong route then.
  const settled = !legacy && !desired.some((e) => e.pending);
  const orphans = settled ? Object.keys(applications).filter((name) => name.startsWith(prefix) && !known.has(name)).sort() : [];
  const ingressDrift = settled ? judgeIngress(applications[settings.appName], desired, settings.appName) : null;
  return { models, orphans, ingressDrift };
}

function observeModel(applications: Record<string, RawApp>, entry: DesiredModel): ModelObservation {
  const base = { modelKey: entry.modelKey, target: entry.targetReplicas };
  const app = applications[entry.routedApp as string];
  if (!app) return { ...base, health: 'missing', running: 0, message: `its app ${entry.routedApp} is not on the cluster (Ray restarted, or the app was removed)` };
  const deployment = app.deployments?.[entry.deploymentName as string];
  if (!deployment) {
    // While Ray rebuilds an app it lists no deployments for a moment: short, not gone.
    if (app.status === 'DEPLOY_FAILED') return { ...base, health: 'unhealthy', running: 0, message: summarizeRayMessage(app.message ?? '') };
    return { ...base, health: 'short', running: 0, message: firstLine(app.message) || `deployment ${entry.deploymentName} not listed (app ${app.status ?? 'unknown'})` };
  }
  const running = (deployment.replicas ?? []).filter((r) => r.state === 'RUNNING').length;
  // A replica STARTING on a node is Ray's own repair under way (a dead engine's replica replaced:
  // the deployment UNHEALTHY, its replicas STOPPING and STARTING); restarting the app would begin
  // it again. One STARTING on no node waits for room (a lost node), which Ray words only for a new
  // deployment, so a restart is what shows the reason; a deployment Ray gave up on (DEPLOY_FAILED)
  // is not being repaired. The words change with it, so the model's workflow hears of it.
  const placedStarting = deployment.status !== 'DEPLOY_FAILED' && (deployment.replicas ?? []).some((r) => r.state === 'STARTING' && r.node_id);
  const replacing = placedStarting ? { replacing: true } : {};
  const withReplacement = (message: string) => (placedStarting ? `${message} (Ray is starting a new replica)` : message);
  // An autoscaled model's target moves with its load above its floor (entry.targetReplicas), which is what it must keep.
  const seen = { ...base, target: Math.max(entry.targetReplicas, deployment.target_num_replicas ?? 0) };
  if (deployment.status === 'UNHEALTHY' || deployment.status === 'DEPLOY_FAILED') {
    const message = summarizeRayMessage(deployment.message || app.message || `deployment ${deployment.status}`);
    // Ray keeps such an app UNHEALTHY (never DEPLOY_FAILED) and retries; the request that woke it is answered 503 by the ingress.
    if (entry.targetReplicas === 0 && running === 0 && deployment.status_trigger === 'REPLICA_STARTUP_FAILED') {
      return { ...seen, health: 'unhealthy', running, message: `cold start failed: ${message}`, coldStartFailed: true };
    }
    return { ...seen, health: 'unhealthy', running, message: withReplacement(message), ...replacing };
  }
  if (running < entry.targetReplicas) {
    const waiting = describeUnscheduledReplicas(deployment.message ?? '');
    if (waiting) return { ...seen, health: 'short', running, message: waiting, unscheduled: true };
    const states = (deployment.replicas ?? []).map((r) => r.state).join(', ');
    return { ...seen, health: 'short', running, message: withReplacement(firstLine(deployment.message) || `deployment ${deployment.status ?? 'unknown'}${states ? ` (replicas: ${states})` : ''}`), ...replacing };
  }
  return { ...seen, health: 'healthy', running, message: '' };
}

/** The ingress must be there and route exactly the desired models, each to its routed app. */
function judgeIngress(app: RawApp | undefined, desired: DesiredModel[], appName: string): string | null {
  const placements = desired.filter((e) => e.placement && e.routedApp !== null);
  if (!app) return placements.length > 0 ? `the ingress app ${appName} is not on the cluster` : null;
  const config = app.deployed_app_config?.deployments?.find((d) => d.name === INGRESS_DEPLOYMENT)?.user_config;
  if (!config) return null; // not ours to judge (Ray reports no config while it deploys it)
  const routed = new Map((config.models ?? []).map((m) => [m.model_id ?? '', m.app_name ?? '']));
  const wrong = placements.filter((e) => routed.get(e.modelId) !== e.routedApp).map((e) => e.modelId);
  const extra = [...routed.keys()].filter((id) => !placements.some((e) => e.modelId === id));
  if (wrong.length === 0 && extra.length === 0) return null;
  const parts = [
    ...(wrong.length > 0 ? [`does not route ${wrong.slice(0, 3).join(', ')}${wrong.length > 3 ? ` and ${wrong.length - 3} more` : ''} as asked`] : []),
    ...(extra.length > 0 ? [`routes ${extra.slice(0, 3).join(', ')}${extra.length > 3 ? ` and ${extra.length - 3} more` : ''}, which the cluster should not serve`] : []),
  ];
  return `the ingress ${parts.join(' and ')}`;
}
