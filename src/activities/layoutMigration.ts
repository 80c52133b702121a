import { Context } from '@temporalio/activity';
import { listClusterEntries, withClusterLock, writeClusterEntry } from '../db/clusterModels';
import { isPlacement } from '../ray/clusterLayout';
import { RayRequestError } from '../ray/dashboardClient';
import { ModelPlacement, modelAppName } from '../ray/modelPlacement';
import { deploymentNameFor } from '../ray/serveConfig';
import { assessModel, summarizeRayMessage } from '../ray/serveStatus';
import { isSingleAppEntry, ModelConfig } from '../ray/singleAppLayout';
import { flushPendingEntries, putDesiredSet } from './clusterWriter';
import type { ActivityDependencies } from './dependencies';

/** The marker of an app a model got when its cluster moved from the single-app layout. */
export const MIGRATED_MARKER = 'migrated';

/** A model given an app of its own by the migration, and how to tell it is up. */
export interface MigratedModel {
  modelKey: string;
  modelId: string;
  appName: string;
  deploymentName: string;
  replicas: number;
}

/** The model's own app, made from its entry of the single-app layout (same LLMConfig, same replica count). */
function placementFrom(modelKey: string, legacy: ModelConfig, deps: ActivityDependencies): ModelPlacement {
  const modelId = legacy.llm_config.model_loading_config.model_id;
  const replicas = legacy.deployment?.autoscaling_config.min_replicas ?? legacy.llm_config.deployment_config?.num_replicas ?? 1;
  const { deployment_config: _replicasOfOldEntries, ...llmConfig } = legacy.llm_config;
  const appName = modelAppName(deps.render, modelKey, MIGRATED_MARKER);
  return {
    layout: 'app-per-model',
    model_id: modelId,
    routed_app: appName,
    apps: [
      {
        app_name: appName,
        marker: MIGRATED_MARKER,
        llm_config: llmConfig,
        deployment: {
          // Named as Ray names it (entries written before the dotted-name fix named it wrongly).
          name: deploymentNameFor(modelId, llmConfig.server_cls ?? deps.render.engine.server_cls),
          autoscaling_config: { min_replicas: replicas, max_replicas: replicas, initial_replicas: replicas },
          ray_actor_options: {
            ...(legacy.deployment?.ray_actor_options ?? { runtime_env: { env_vars: {} } }),
            runtime_env: { ...(legacy.deployment?.ray_actor_options.runtime_env ?? {}), env_vars: { ARGUS_MODEL_REVISION: MIGRATED_MARKER } },
          },
        },
      },
    ],
    migrating_from: legacy,
  };
}

/**
 * Step 1 of moving a cluster off the single-app layout: every model still in the old app gets an
 * app of its own beside it (the old app keeps serving the model meanwhile), in one PUT.
 * Idempotent: models already staged are reported again, nothing is written twice. A cluster with
 * nothing to move and no ingress gets the ingress.
 */
export function stageLayoutMigrationActivity(deps: ActivityDependencies) {
  return async function stageLayoutMigration(): Promise<MigratedModel[]> {
    return withClusterLock(deps.pool, deps.clusterId, async (client) => {
      const entries = await listClusterEntries(client, deps.clusterId);
      const staged: MigratedModel[] = [];
      for (const entry of entries) {
        let placement: ModelPlacement | null = null;
        if (entry.modelConfig !== null && isSingleAppEntry(entry.modelConfig)) {
          placement = placementFrom(entry.modelKey, entry.modelConfig, deps);
          await writeClusterEntry(client, deps.clusterId, entry.modelKey, placement);
        } else if (entry.modelConfig !== null && isPlacement(entry.modelConfig) && entry.modelConfig.migrating_from) {
          placement = entry.modelConfig;
        }
        const app = placement?.apps[0];
        if (placement && app) {
          staged.push({ modelKey: entry.modelKey, modelId: placement.model_id, appName: app.app_name, deploymentName: app.deployment.name, replicas: app.deployment.autoscaling_config.min_replicas });
        }
      }
      if (staged.length > 0) await flushPendingEntries(deps, client);
      // Nothing to move and no ingress yet (a fresh cluster): put it there before the first model,
      // so requests to a model that is starting get the ingress's 503, not Serve's bare 404.
      else if (!(await deps.dashboard.getApplicationNames()).includes(deps.render.appName)) await putDesiredSet(deps, client);
      return staged;
    });
  };
}

/** How the staged apps came up: ready, or failed with Ray's reason (the deadline passing counts as failed). */
export interface MigrationWatch {
  ready: string[];
  failed: Array<{ modelKey: string; reason: string }>;
}

/** Step 2: waits until every staged app is up (or failed, or the deadline passed), heartbeating how many are. */
export function watchMigratedAppsActivity(deps: ActivityDependencies) {
  return async function watchMigratedApps(input: { models: MigratedModel[]; deadlineMs: number }): Promise<MigrationWatch> {
    const context = Context.current();
    const outcome: MigrationWatch = { ready: [], failed: [] };
    let waiting = [...input.models];
    for (;;) {
      context.heartbeat({ ready: outcome.ready.length, failed: outcome.failed.length, waiting: waiting.length });
      try {
        const details = await deps.dashboard.getServeDetails();
        const still: MigratedModel[] = [];
        for (const model of waiting) {
          const assessment = assessModel(details, model.appName, model.deploymentName, model.replicas);
          if (assessment.phase === 'healthy') outcome.ready.push(model.modelKey);
          else if (assessment.phase === 'failed') outcome.failed.push({ modelKey: model.modelKey, reason: summarizeRayMessage(assessment.message) });
          else still.push(model);
        }
        waiting = still;
      } catch (err) {
        if (!(err instanceof RayRequestError)) throw err;
      }
      if (waiting.length === 0) return outcome;
      if (Date.now() >= input.deadlineMs) {
        outcome.failed.push(...waiting.map((m) => ({ modelKey: m.modelKey, reason: 'not ready within the readiness deadline' })));
        return outcome;
      }
      await context.sleep(deps.pollIntervalMs);
    }
  };
}

/** Step 3: the old app goes and the ingress takes its place and route, in one PUT. */
export function finishLayoutMigrationActivity(deps: ActivityDependencies) {
  return async function finishLayoutMigration(): Promise<{ puts: number }> {
    return withClusterLock(deps.pool, deps.clusterId, async (client) => {
      for (const entry of await listClusterEntries(client, deps.clusterId)) {
        if (entry.modelConfig !== null && isPlacement(entry.modelConfig) && entry.modelConfig.migrating_from) {
          const { migrating_from: _done, ...placement } = entry.modelConfig;
          await writeClusterEntry(client, deps.clusterId, entry.modelKey, placement);
        }
      }
      const { puts } = await flushPendingEntries(deps, client);
      return { puts };
    });
  };
}
