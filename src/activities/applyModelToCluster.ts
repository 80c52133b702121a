import { ApplicationFailure } from '@temporalio/activity';
import { countDesiredModels, countModelsOnTheirWay, readEntryProgress, updateClusterEntry, withClusterLock } from '../db/clusterModels';
import type { ServingSpec } from '../domain/servingSpec';
import { ClusterEntryConfig, isPlacement } from '../ray/clusterLayout';
import { ModelPlacement, nextPlacement, PlacementStep, PlacementStepError, routedApp } from '../ray/modelPlacement';
import { flusherFor } from './clusterFlusher';
import { flushPendingEntries } from './clusterWriter';
import type { ActivityDependencies } from './dependencies';

export interface ApplyInput {
  modelKey: string;
  modelId: string;
  /** The spec to serve, or null to take the model off the cluster. */
  spec: ServingSpec | null;
  /** Names the revision: a new app (or a candidate) is named after it. */
  rolloutMarker: string;
  /**
   * What this apply does to the model's placement (default `replace`: the spec serves in the
   * model's app, in place, or in a new app when it has none). See nextPlacement.
   */
  step?: PlacementStep;
  /** With `promote`: the app to route to (default: the candidate named by the marker). */
  targetApp?: string;
}

/** Where the step left the model: the app it concerns, so the next step watches the right one. */
export interface ApplyResult {
  models_on_cluster: number;
  /** The app this step acted on (the routed app; after `stage`, the candidate); absent after a removal. */
  app_name?: string;
  deployment_name?: string;
  /** The revision marker that app's replicas run with (a scale in place keeps the app's own). */
  marker?: string;
  /** Apps this step took off the cluster. */
  removed_apps?: string[];
  /** The app the ingress routes the model to after this step. */
  routed_app?: string;
}

/** Longest a write waits for changes known to be on their way before its PUT. */
export const DEFAULT_GATHER_MS = 1_000;
/** How often a gathering write looks again at what is still on its way. */
const GATHER_POLL_MS = 25;

/**
 * Moves this model's entry in the cluster's desired set one step (see nextPlacement) and sees it
 * onto the cluster. Writes are
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

  return async function applyModelToCluster(input: ApplyInput): Promise<ApplyResult> {
    const step = input.step ?? 'replace';
    let result: { generation: number; config: ClusterEntryConfig | null; previous: ClusterEntryConfig | null };
    try {
      result = await updateClusterEntry(deps.pool, deps.clusterId, input.modelKey, (current) => {
        const placement = current !== null && isPlacement(current) ? current : null;
        if (input.spec === null) return null;
        return nextPlacement(placement, step, { modelKey: input.modelKey, modelId: input.modelId, spec: input.spec, marker: input.rolloutMarker, targetApp: input.targetApp }, deps.render);
      });
    } catch (err) {
      if (err instanceof PlacementStepError) throw ApplicationFailure.nonRetryable(err.message, 'PlacementStepRefused');
      throw err;
    }
    const { generation } = result;
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
    return { models_on_cluster: await countDesiredModels(deps.pool, deps.clusterId), ...describeStep(step, result.previous, result.config) };
  };
}

function appsOf(config: ClusterEntryConfig | null): string[] {
  return config !== null && isPlacement(config) ? config.apps.map((a) => a.app_name) : [];
}

function describeStep(step: PlacementStep, previous: ClusterEntryConfig | null, next: ClusterEntryConfig | null): Omit<ApplyResult, 'models_on_cluster'> {
  const removed_apps = appsOf(previous).filter((name) => !appsOf(next).includes(name));
  if (next === null || !isPlacement(next)) return { removed_apps };
  const placement: ModelPlacement = next;
  const app = step === 'stage' ? (placement.apps[placement.apps.length - 1] ?? routedApp(placement)) : routedApp(placement);
  return { app_name: app.app_name, deployment_name: app.deployment.name, marker: app.marker, removed_apps, routed_app: placement.routed_app };
}
