import { listDesiredModels, listObservations, readClusterObservation, ReportedHealth, saveClusterObservation, saveObservations, StoredObservation } from '../db/observations';
import { toLogicalText } from '../domain/modelSourcePath';
import { assessCluster, ModelObservation } from '../ray/clusterDrift';
import { RayRequestError } from '../ray/dashboardClient';
import type { HealthNotice } from '../workflows/messages';
import type { ActivityDependencies } from './dependencies';

export interface ObservePolicy {
  /** How long a model may run short of replicas (Ray replacing one) before it counts as degraded. */
  replicaGraceS: number;
  /** While a model's state still says otherwise, how often its workflow is told again. */
  remindAfterS: number;
}

export interface ObservationReport {
  reachable: boolean;
  /** Why Ray could not be read (reachable false). */
  message: string;
  /** Models whose workflow should hear what the reconciler saw. */
  notices: Array<{ modelKey: string; notice: HealthNotice }>;
  orphans: string[];
  ingressDrift: string | null;
  counts: { judged: number; healthy: number; degraded: number; missing: number };
}

/**
 * One pass of the cluster's reconciler: the desired set from the database, then one read of
 * Ray's whole Serve status (in that order, so an entry settled before the read is on the
 * cluster at the read). Stores what changed, and returns what each model's workflow must be told
 * and what is wrong with the cluster itself; it changes nothing on Ray.
 */
export function observeClusterActivity(deps: ActivityDependencies) {
  return async function observeCluster(policy: ObservePolicy): Promise<ObservationReport> {
    const desired = await listDesiredModels(deps.pool, deps.clusterId);
    const now = new Date();
    let raw: unknown;
    try {
      raw = await deps.dashboard.getServeStatusJson();
    } catch (err) {
      if (!(err instanceof RayRequestError)) throw err;
      // Nothing is concluded about the models from a cluster that cannot be asked.
      await saveClusterObservation(deps.pool, deps.clusterId, { observedAt: now, reachable: false, message: err.message });
      return { reachable: false, message: err.message, notices: [], orphans: [], ingressDrift: null, counts: { judged: 0, healthy: 0, degraded: 0, missing: 0 } };
    }
    const assessment = assessCluster(raw, desired, deps.render);
    const stateOf = new Map(desired.map((d) => [d.modelKey, d.state]));
    const stored = new Map((await listObservations(deps.pool, deps.clusterId)).map((o) => [o.modelKey, o]));
    const previousPass = (await readClusterObservation(deps.pool, deps.clusterId))?.observedAt ?? now;

    const changed: StoredObservation[] = [];
    const notices: ObservationReport['notices'] = [];
    const counts = { judged: assessment.models.length, healthy: 0, degraded: 0, missing: 0 };
    for (const observed of assessment.models) {
      // Ray's messages name node paths; users see the logical ones.
      const seen = { ...observed, message: toLogicalText(observed.message, deps.render.storageRoot) };
      const step = nextObservation(stored.get(seen.modelKey) ?? null, seen, stateOf.get(seen.modelKey) ?? '', { now, previousPass, policy });
      counts[step.verdict] += 1;
      if (step.changed) changed.push(step.row);
      if (step.notify) notices.push({ modelKey: seen.modelKey, notice: { health: step.verdict, message: seen.message, running: seen.running, target: seen.target, ...(seen.unscheduled ? { unscheduled: true } : {}), ...(seen.coldStartFailed ? { coldStartFailed: true } : {}), ...(seen.replacing ? { replacing: true } : {}), observedAt: now.getTime() } });
    }
    await saveObservations(deps.pool, deps.clusterId, changed, assessment.models.map((m) => m.modelKey));
    await saveClusterObservation(deps.pool, deps.clusterId, { observedAt: now, reachable: true, message: '' });
    return { reachable: true, message: '', notices, orphans: assessment.orphans, ingressDrift: assessment.ingressDrift, counts };
  };
}

/**
 * What one look at a model means, given what was stored before:
 * - the verdict: missing and unhealthy at once; short only once it has lasted the grace period;
 * - whether the row changed (only then is it written);
 * - whether the model's workflow must be told: the verdict differs from what it was last told,
 *   its state still contradicts the verdict after `remindAfterS` (a lost or ignored notice), or
 *   Ray's words about a model that is not healthy changed.
 */
export function nextObservation(
  previous: StoredObservation | null,
  seen: ModelObservation,
  modelState: string,
  context: { now: Date; previousPass: Date; policy: ObservePolicy },
): { row: StoredObservation; verdict: ReportedHealth; changed: boolean; notify: boolean } {
  const { now, previousPass, policy } = context;
  const sameHealth = previous !== null && previous.health === seen.health;
  const since = sameHealth ? previous.since : now;
  // The last pass that saw it healthy: kept while it stays unhealthy, the previous pass once it stops.
  const lastHealthyAt =
    seen.health === 'healthy' ? null : previous === null ? null : previous.health === 'healthy' ? previousPass : previous.lastHealthyAt;
  // A model never told anything believes what its state says.
  const lastTold: ReportedHealth = previous?.reported ?? (modelState === 'DEGRADED' ? 'degraded' : 'healthy');
  // Short, within the grace period: Ray may be replacing a replica; nothing to say yet.
  const withinGrace = seen.health === 'short' && now.getTime() - since.getTime() < policy.replicaGraceS * 1000;
  const verdict: ReportedHealth = seen.health === 'healthy' ? 'healthy' : seen.health === 'missing' ? 'missing' : withinGrace ? lastTold : 'degraded';
  const stateContradicts = (modelState === 'RUNNING' && verdict !== 'healthy') || (modelState === 'DEGRADED' && verdict === 'healthy');
  const remindDue = !previous?.reportedAt || now.getTime() - previous.reportedAt.getTime() >= policy.remindAfterS * 1000;
  // A model already told it is degraded hears what Ray says next (a lost node's replica waiting
  // for GPUs, say): its reason follows Ray's, and its workflow knows when waiting beats a restart.
  const newWords = verdict !== 'healthy' && !withinGrace && previous !== null && previous.message !== seen.message;
  const notify = verdict !== lastTold || (stateContradicts && remindDue) || newWords;
  const row: StoredObservation = {
    modelKey: seen.modelKey,
    health: seen.health,
    running: seen.running,
    target: seen.target,
    message: seen.message,
    since,
    lastHealthyAt,
    reported: notify ? verdict : (previous?.reported ?? null),
    reportedAt: notify ? now : (previous?.reportedAt ?? null),
  };
  const changed =
    previous === null ||
    notify ||
    previous.health !== row.health ||
    previous.running !== row.running ||
    previous.target !== row.target ||
    previous.message !== row.message ||
    previous.lastHealthyAt?.getTime() !== row.lastHealthyAt?.getTime();
  return { row, verdict, changed, notify };
}
