import type { PoolClient } from 'pg';
import { DesiredEntry, hasPendingEntries, isPending, listClusterEntries, listDesiredEntries, markEntriesApplied, markEntryRejected } from '../db/clusterModels';
import { RayRequestError } from '../ray/dashboardClient';
import { ClusterEntryConfig, isManagedApp, renderClusterBody } from '../ray/clusterLayout';
import type { ServeApplication } from '../ray/serveConfig';
import type { ActivityDependencies } from './dependencies';
import { countPut } from '../observability/metrics/workerMetrics';

/** How one flush went: how many PUTs it sent and which entries Ray refused. */
export interface FlushOutcome {
  puts: number;
  rejected: string[];
}

/**
 * The group commit of the cluster's single writer; call it holding the cluster lock. Sends one
 * PUT carrying every entry written so far (every model's apps, the ingress with every model's
 * route, and the apps this product does not manage, exactly as Ray reports them). When Ray refuses that batch, the
 * pending changes are retried one at a time on top of what Ray last accepted, so only the
 * change Ray refuses fails and its neighbours' changes still land.
 * Transient failures (Ray unreachable, 5xx) propagate and leave the entries pending.
 */
export async function flushPendingEntries(deps: ActivityDependencies, client: PoolClient): Promise<FlushOutcome> {
  // Another writer may have landed everything already: find out before reading every config.
  if (!(await hasPendingEntries(client, deps.clusterId))) return { puts: 0, rejected: [] };
  const entries = await listDesiredEntries(client, deps.clusterId);
  const pending = entries.filter(isPending);
  if (pending.length === 0) return { puts: 0, rejected: [] };
  const foreignApps = await foreignAppsOf(deps);

  const desired = desiredConfigs(entries);
  const batch = await tryPut(deps, desired, foreignApps);
  if (batch === 'accepted') {
    await markEntriesApplied(client, deps.clusterId, pending);
    return { puts: 1, rejected: [] };
  }
  if (pending.length === 1) {
    await markEntryRejected(client, deps.clusterId, pending[0] as DesiredEntry, batch.message);
    return { puts: 1, rejected: [(pending[0] as DesiredEntry).modelKey] };
  }

  // Isolate the refused change(s): start from what Ray last accepted and add one change at a time.
  const outcome: FlushOutcome = { puts: 1, rejected: [] };
  const applied = await listClusterEntries(client, deps.clusterId);
  let baseline = new Map(applied.flatMap((e) => (e.appliedConfig ? [[e.modelKey, e.appliedConfig] as const] : [])));
  for (const entry of pending) {
    const candidate = new Map(baseline);
    if (entry.modelConfig === null) candidate.delete(entry.modelKey);
    else candidate.set(entry.modelKey, entry.modelConfig);
    const single = await tryPut(deps, candidate, foreignApps);
    outcome.puts += 1;
    if (single === 'accepted') {
      baseline = candidate;
      await markEntriesApplied(client, deps.clusterId, [entry]);
    } else {
      await markEntryRejected(client, deps.clusterId, entry, single.message);
      outcome.rejected.push(entry.modelKey);
    }
  }
  return outcome;
}

/**
 * One PUT of the whole desired set as it stands, pending or not (call it holding the cluster
 * lock): what puts the ingress on a cluster that has none yet, before its first model.
 */
export async function putDesiredSet(deps: ActivityDependencies, client: PoolClient): Promise<void> {
  const outcome = await tryPut(deps, desiredConfigs(await listDesiredEntries(client, deps.clusterId)), await foreignAppsOf(deps));
  if (outcome !== 'accepted') throw outcome;
}

/** Every model's desired config by model key (entries whose removal is pending left out). */
const desiredConfigs = (entries: DesiredEntry[]) => new Map(entries.flatMap((e) => (e.modelConfig ? [[e.modelKey, e.modelConfig] as const] : [])));

/** The apps on the cluster this product does not manage, to send back as they are. */
const foreignAppsOf = (deps: ActivityDependencies) => deps.dashboard.getForeignApplications((name) => isManagedApp(name, deps.render));

/** One PUT of a complete desired set; a refusal (4xx) is returned, anything else thrown. */
async function tryPut(
  deps: ActivityDependencies,
  models: Map<string, ClusterEntryConfig>,
  foreignApps: ServeApplication[],
): Promise<'accepted' | RayRequestError> {
  const configs = [...models.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, config]) => config);
  try {
    const body = renderClusterBody(configs, foreignApps, deps.render);
    await deps.dashboard.putServeApplications(body);
    countPut(body.applications.length);
    return 'accepted';
  } catch (err) {
    if (err instanceof RayRequestError && err.isRejection) return err;
    throw err;
  }
}
