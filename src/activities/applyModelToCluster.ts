import { ApplicationFailure, log } from '@temporalio/activity';
import { listClusterModels, setClusterModel, withClusterLock } from '../db/clusterModels';
import type { ServingSpec } from '../domain/servingSpec';
import { RayRequestError } from '../ray/dashboardClient';
import { LlmConfig, ServeApplication, renderDeployBody, renderLlmConfig, renderManagedApplication } from '../ray/serveConfig';
import type { ActivityDependencies } from './dependencies';

export interface ApplyInput {
  modelKey: string;
  modelId: string;
  /** The spec to serve, or null to take the model off the cluster. */
  spec: ServingSpec | null;
  /** Changes with every rollout so Ray acts even on a config it saw fail before. */
  rolloutMarker: string;
}

/**
 * Sets this model's entry in the cluster's desired set and PUTs the complete set. Every writer
 * takes the cluster lock, reads the whole desired set and the apps it does not manage, and
 * sends all of them, so no PUT can drop another model or someone else's app.
 */
export function applyModelToClusterActivity(deps: ActivityDependencies) {
  return async function applyModelToCluster(input: ApplyInput): Promise<{ models_on_cluster: number }> {
    const llmConfig: LlmConfig | null = input.spec ? renderLlmConfig(input.modelId, input.spec, input.rolloutMarker, deps.render) : null;
    return withClusterLock(deps.pool, deps.clusterId, async (client) => {
      const before = (await listClusterModels(client, deps.clusterId)).find((m) => m.modelKey === input.modelKey);
      await setClusterModel(client, deps.clusterId, input.modelKey, llmConfig);
      const desired = await listClusterModels(client, deps.clusterId);
      try {
        const live = await deps.dashboard.getServeDetails();
        const foreignApps = Object.values(live.applications)
          .filter((app) => app.name !== deps.render.appName && app.deployed_app_config)
          .map((app) => app.deployed_app_config as unknown as ServeApplication);
        const managed = desired.length > 0 ? renderManagedApplication(deps.render.appName, desired.map((m) => m.llmConfig as unknown as LlmConfig)) : null;
        await deps.dashboard.putServeApplications(renderDeployBody(managed, foreignApps));
      } catch (err) {
        if (err instanceof RayRequestError && err.isRejection) {
          // Put the desired set back as it was: a config Ray refuses must not block the next writer.
          await setClusterModel(client, deps.clusterId, input.modelKey, before ? before.llmConfig : null);
          log.warn('Ray rejected the Serve config', { modelKey: input.modelKey, status: err.status });
          throw ApplicationFailure.nonRetryable(err.message, 'RayConfigRejected', { body: err.body.slice(0, 4000) });
        }
        throw err;
      }
      return { models_on_cluster: desired.length };
    });
  };
}
