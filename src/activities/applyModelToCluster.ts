import { ApplicationFailure, Context } from '@temporalio/activity';
import { listClusterEntries, withClusterLock, writeClusterEntry } from '../db/clusterModels';
import type { ServingSpec } from '../domain/servingSpec';
import { renderModelConfig } from '../ray/serveConfig';
import { flushPendingEntries } from './clusterWriter';
import type { ActivityDependencies } from './dependencies';

export interface ApplyInput {
  modelKey: string;
  modelId: string;
  /** The spec to serve, or null to take the model off the cluster. */
  spec: ServingSpec | null;
  /** Changes with every rollout so Ray acts even on a config it saw fail before. */
  rolloutMarker: string;
}

/** How long a writer waits for neighbouring changes before taking the cluster lock. */
export const DEFAULT_GATHER_MS = 50;

/**
 * Sets this model's entry in the cluster's desired set and sees it onto the cluster. Writes are
 * group-committed: the entry is written under a new generation, and whoever next holds the
 * cluster lock PUTs the complete set covering every entry written so far, so changes arriving
 * together share one PUT. An apply whose entry another writer already PUT returns without a
 * PUT of its own. Every PUT carries every model and the apps this product does not manage, so
 * no PUT can drop another model or someone else's app.
 */
export function applyModelToClusterActivity(deps: ActivityDependencies) {
  return async function applyModelToCluster(input: ApplyInput): Promise<{ models_on_cluster: number }> {
    const modelConfig = input.spec ? renderModelConfig(input.modelId, input.spec, input.rolloutMarker, deps.render) : null;
    const generation = await writeClusterEntry(deps.pool, deps.clusterId, input.modelKey, modelConfig);
    await Context.current().sleep(deps.applyGatherMs ?? DEFAULT_GATHER_MS);

    return withClusterLock(deps.pool, deps.clusterId, async (client) => {
      const mine = () => listClusterEntries(client, deps.clusterId).then((all) => all.find((e) => e.modelKey === input.modelKey));
      const before = await mine();
      if (before && before.generation === generation && before.settledGeneration < generation) await flushPendingEntries(deps, client);
      const after = await mine();
      if (after && after.rejectedGeneration === generation) {
        throw ApplicationFailure.nonRetryable(after.rejection ?? 'Ray rejected the Serve config', 'RayConfigRejected');
      }
      // Landed, removed, or superseded by a newer change of the same model: nothing left to do here.
      const desired = (await listClusterEntries(client, deps.clusterId)).filter((e) => e.modelConfig !== null);
      return { models_on_cluster: desired.length };
    });
  };
}
