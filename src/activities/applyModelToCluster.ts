import { ApplicationFailure } from '@temporalio/activity';
import { countDesiredModels, countModelsOnTheirWay, readEntryProgress, withClusterLock, writeClusterEntry } from '../db/clusterModels';
import type { ServingSpec } from '../domain/servingSpec';
import { renderModelConfig } from '../ray/serveConfig';
import { flusherFor } from './clusterFlusher';
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

/** Longest a write waits for changes known to be on their way before its PUT. */
export const DEFAULT_GATHER_MS = 1_000;
/** How often a gathering write looks again at what is still on its way. */
const GATHER_POLL_MS = 25;

/**
 * Sets this model's entry in the cluster's desired set and sees it onto the cluster. Writes are
 * group-committed: the entry is written under a new generation, and the next flush (under the
 * cluster lock) PUTs the complete set covering every entry written so far, so changes arriving
 * together share one PUT. Concurrent applies of this worker share one flush (see ClusterFlusher),
 * which waits for neighbouring changes only while accepted models are still on their way.
 * Every PUT carries every model and the apps this product does not manage, so no PUT can drop
 * another model or someone else's app. A worker dying after the entry is written leaves it
 * pending: the retried apply writes it again and the next flush lands it.
 */
export function applyModelToClusterActivity(deps: ActivityDependencies) {
  const flusher = () =>
    flusherFor(deps, () => ({
      maxGatherMs: deps.applyGatherMs ?? DEFAULT_GATHER_MS,
      gatherPollMs: GATHER_POLL_MS,
      changesOnTheirWay: deps.changesOnTheirWay ?? ((waiting) => countModelsOnTheirWay(deps.pool, { clusterId: deps.clusterId, excluding: waiting })),
      flush: () => withClusterLock(deps.pool, deps.clusterId, (client) => flushPendingEntries(deps, client)),
    }));

  return async function applyModelToCluster(input: ApplyInput): Promise<{ models_on_cluster: number }> {
    const modelConfig = input.spec ? renderModelConfig(input.modelId, input.spec, input.rolloutMarker, deps.render) : null;
    const generation = await writeClusterEntry(deps.pool, deps.clusterId, input.modelKey, modelConfig);
    await flusher().flushIncluding(input.modelKey);

    const mine = await readEntryProgress(deps.pool, deps.clusterId, input.modelKey);
    if (mine && mine.rejectedGeneration === generation) {
      throw ApplicationFailure.nonRetryable(mine.rejection ?? 'Ray rejected the Serve config', 'RayConfigRejected');
    }
    if (mine && mine.generation === generation && mine.settledGeneration < generation) {
      // Only a flush that failed leaves it so, and that failure reached this apply already; kept as a guard.
      throw ApplicationFailure.retryable('the cluster entry is still pending after its flush', 'ClusterEntryPending');
    }
    // Landed, removed, or superseded by a newer change of the same model: nothing left to do here.
    return { models_on_cluster: await countDesiredModels(deps.pool, deps.clusterId) };
  };
}
