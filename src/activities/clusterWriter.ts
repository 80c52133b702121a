import type { PoolClient } from 'pg';
import { ClusterEntry, isPending, listClusterEntries, markEntriesApplied, markEntryRejected } from '../db/clusterModels';
import { RayRequestError } from '../ray/dashboardClient';
import { ModelConfig, ServeApplication, renderDeployBody, renderManagedApplication } from '../ray/serveConfig';
import type { ActivityDependencies } from './dependencies';

/** How one flush went: how many PUTs it sent and which entries Ray refused. */
export interface FlushOutcome {
  puts: number;
  rejected: string[];
}

/**
 * The group commit of the cluster's single writer; call it holding the cluster lock. Sends one
 * PUT carrying every entry written so far (all models' desired configs plus the apps this
 * product does not manage, exactly as Ray reports them). When Ray refuses that batch, the
 * pending changes are retried one at a time on top of what Ray last accepted, so only the
 * change Ray refuses fails and its neighbours' changes still land.
 * Transient failures (Ray unreachable, 5xx) propagate and leave the entries pending.
 */
export async function flushPendingEntries(deps: ActivityDependencies, client: PoolClient): Promise<FlushOutcome> {
  const entries = await listClusterEntries(client, deps.clusterId);
  const pending = entries.filter(isPending);
  if (pending.length === 0) return { puts: 0, rejected: [] };
  const foreignApps = await foreignApplications(deps);

  const desired = new Map(entries.flatMap((e) => (e.modelConfig ? [[e.modelKey, e.modelConfig] as const] : [])));
  const batch = await tryPut(deps, desired, foreignApps);
  if (batch === 'accepted') {
    await markEntriesApplied(client, deps.clusterId, pending);
    return { puts: 1, rejected: [] };
  }
  if (pending.length === 1) {
    await markEntryRejected(client, deps.clusterId, pending[0] as ClusterEntry, batch.message);
    return { puts: 1, rejected: [(pending[0] as ClusterEntry).modelKey] };
  }

  // Isolate the refused change(s): start from what Ray last accepted and add one change at a time.
  const outcome: FlushOutcome = { puts: 1, rejected: [] };
  let baseline = new Map(entries.flatMap((e) => (e.appliedConfig ? [[e.modelKey, e.appliedConfig] as const] : [])));
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

/** Apps on the cluster this product does not manage, sent back exactly as Ray reports them deployed. */
async function foreignApplications(deps: ActivityDependencies): Promise<ServeApplication[]> {
  const live = await deps.dashboard.getServeDetails();
  return Object.values(live.applications)
    .filter((app) => app.name !== deps.render.appName && app.deployed_app_config)
    .map((app) => app.deployed_app_config as unknown as ServeApplication);
}

/** One PUT of a complete desired set; a refusal (4xx) is returned, anything else thrown. */
async function tryPut(
  deps: ActivityDependencies,
  models: Map<string, ModelConfig>,
  foreignApps: ServeApplication[],
): Promise<'accepted' | RayRequestError> {
  const configs = [...models.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, config]) => config);
  const managed = configs.length > 0 ? renderManagedApplication(deps.render.appName, configs) : null;
  try {
    await deps.dashboard.putServeApplications(renderDeployBody(managed, foreignApps));
    return 'accepted';
  } catch (err) {
    if (err instanceof RayRequestError && err.isRejection) return err;
    throw err;
  }
}
