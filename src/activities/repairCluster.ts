import { hasPendingEntries, withClusterLock } from '../db/clusterModels';
import { listDesiredModels, recordClusterEvent } from '../db/observations';
import { assessCluster } from '../ray/clusterDrift';
import { putDesiredSet } from './clusterWriter';
import type { ActivityDependencies } from './dependencies';

export interface ClusterRepair {
  /** Orphan apps the PUT took off the cluster. */
  removedOrphans: string[];
  /** Why the ingress's model set was sent again (null: it was not). */
  ingressResent: string | null;
  /** Why nothing was done (a change on its way will PUT the whole set anyway, or the drift was gone). */
  skipped: string | null;
}

/**
 * Repairs what belongs to no model: apps named like this product's model apps that no model
 * owns (left by a crash), and an ingress missing or routing other than the desired set. Both are
 * mended by one PUT of the desired set, which carries every model, the ingress and the apps of
 * others, and leaves the orphans out. The drift is judged again holding the cluster lock, so no
 * flush runs between that look and the PUT, and an app a flush just created is never taken for
 * an orphan. Each repair is recorded as a cluster event with its reason.
 */
export function repairClusterActivity(deps: ActivityDependencies) {
  return async function repairCluster(): Promise<ClusterRepair> {
    return withClusterLock(deps.pool, deps.clusterId, async (client) => {
      if (await hasPendingEntries(client, deps.clusterId)) {
        return { removedOrphans: [], ingressResent: null, skipped: 'a change is on its way to the cluster; its PUT carries the whole set' };
      }
      const desired = await listDesiredModels(client, deps.clusterId);
      const { orphans, ingressDrift } = assessCluster(await deps.dashboard.getServeStatusJson(), desired, deps.render);
      if (orphans.length === 0 && ingressDrift === null) return { removedOrphans: [], ingressResent: null, skipped: 'the drift was gone when looked at again' };
      await putDesiredSet(deps, client);
      if (orphans.length > 0) {
        await recordClusterEvent(client, deps.clusterId, 'ORPHAN_APPS_REMOVED', { app_names: orphans, reason: 'named like a model app of this product, but no model owns it' });
      }
      if (ingressDrift !== null) await recordClusterEvent(client, deps.clusterId, 'INGRESS_RESENT', { reason: ingressDrift });
      return { removedOrphans: orphans, ingressResent: ingressDrift, skipped: null };
    });
  };
}
