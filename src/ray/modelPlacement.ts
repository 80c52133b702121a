import { isDeepStrictEqual } from 'node:util';
import type { ServingSpec } from '../domain/servingSpec';
import type { EngineSettings } from '../config/config';
import { DeploymentOverride, LlmConfig, renderDeploymentOverride, renderLlmConfig, RenderSettings, ServeApplication, setupHookEnv } from './serveConfig';
import type { ModelConfig } from './singleAppLayout';

/** Serve calls this builder with the app's `args` ({"llm_config": ...}); it builds the model's one deployment. */
export const MODEL_APP_IMPORT_PATH = 'argus_serve.builders:build_model_app';

/** One revision of a model as its own Serve application. */
export interface ModelApp {
  app_name: string;
  /** The revision marker the app was created with; a scale in place keeps it, so replicas are kept. */
  marker: string;
  llm_config: LlmConfig;
  deployment: DeploymentOverride;
}

/**
 * Where one model lives on the cluster: the app the ingress routes its traffic to, and while a
 * new revision starts beside it (blue/green), that candidate too. Stored as the model's entry in
 * the cluster's desired set; every PUT renders every model's apps and the ingress from these.
 */
export interface ModelPlacement {
  layout: 'app-per-model';
  model_id: string;
  routed_app: string;
  /** The routed app first; a candidate revision after it. */
  apps: ModelApp[];
  /**
   * A model moving from the single-app layout: its old entry keeps serving inside the old app
   * until every migrating model's own app is up and the ingress takes the old app's place.
   */
  migrating_from?: ModelConfig;
}

/** `<ingress app>--<model_key>--<marker>`: unique per model and revision, and recognisably ours. */
export function modelAppName(settings: Pick<RenderSettings, 'appName'>, modelKey: string, marker: string): string {
  return `${settings.appName}--${modelKey}--${marker}`;
}

/** The prefix shared by every app of one model (and, without a key, by every model app of this product). */
export function modelAppPrefix(settings: Pick<RenderSettings, 'appName'>, modelKey = ''): string {
  return `${settings.appName}--${modelKey}${modelKey ? '--' : ''}`;
}

export function renderModelApp(modelKey: string, modelId: string, spec: ServingSpec, marker: string, settings: RenderSettings): ModelApp {
  return {
    app_name: modelAppName(settings, modelKey, marker),
    marker,
    llm_config: renderLlmConfig(modelId, spec, settings),
    deployment: renderDeploymentOverride(modelId, spec, marker, settings),
  };
}

/**
 * A model app as Serve takes it: no route of its own (only the ingress is reachable over HTTP).
 * With an engine whose replicas run a worker setup hook of the platform's (the stand-in's, which
 * keeps vLLM out), the app's build runs it too: Serve builds each app in a task of its own, with
 * the app's runtime_env, and that task otherwise imports vLLM and torch through Ray Serve LLM.
 */
export function renderModelApplication(app: ModelApp, engine: Pick<EngineSettings, 'worker_setup_hook'> | null = null): ServeApplication {
  const hookEnv = engine ? setupHookEnv(engine) : {};
  return {
    name: app.app_name,
    route_prefix: null,
    import_path: MODEL_APP_IMPORT_PATH,
    args: { llm_config: app.llm_config },
    ...(Object.keys(hookEnv).length > 0 ? { runtime_env: { env_vars: hookEnv } } : {}),
    deployments: [app.deployment],
  };
}

export const routedApp = (placement: ModelPlacement): ModelApp => {
  const app = placement.apps.find((a) => a.app_name === placement.routed_app);
  if (!app) throw new Error(`placement of ${placement.model_id} routes to ${placement.routed_app}, which it does not hold`);
  return app;
};

/** A step that does not fit the model's placement (promoting what was never staged): retrying cannot help. */
export class PlacementStepError extends Error {
  override name = 'PlacementStepError';
}

/** The steps of a rollout, each one change of the model's placement. */
export type PlacementStep = 'replace' | 'stage' | 'promote' | 'retire' | 'restart';

/**
 * The placement after one step, from the current one (null: the model is not on the cluster).
 * - replace: the spec serves in the routed app, in place (a new app if there is none). A scale
 *   keeps the app and its marker, so Ray adds or removes replicas and keeps the rest; a
 *   redefinition in place reloads the model. Any candidate is dropped.
 * - stage: the spec starts as a candidate app beside the routed one, which keeps serving.
 * - promote: the ingress routes to the app `targetApp` (default: the candidate named by `marker`);
 *   the other app stays until it is retired, so traffic can be switched back.
 * - retire: only the routed app is kept.
 * - restart: the routed app, unchanged but for a new revision marker, so Ray replaces its
 *   replicas (a repair: Ray does not restart an app whose config is unchanged, even a failed one).
 */
export function nextPlacement(
  current: ModelPlacement | null,
  step: PlacementStep,
  model: { modelKey: string; modelId: string; spec: ServingSpec; marker: string; targetApp?: string },
  settings: RenderSettings,
): ModelPlacement {
  const fresh = (): ModelPlacement => {
    const app = renderModelApp(model.modelKey, model.modelId, model.spec, model.marker, settings);
    return { layout: 'app-per-model', model_id: model.modelId, routed_app: app.app_name, apps: [app] };
  };
  if (current === null || current.migrating_from) {
    if (step === 'replace' || step === 'stage' || step === 'restart') return fresh();
    throw new PlacementStepError(`cannot ${step} ${model.modelId}: it has no app of its own on the cluster`);
  }
  const serving = routedApp(current);
  switch (step) {
    case 'replace': {
      // A scale keeps the app's marker, so Ray keeps its replicas; a redefinition in place
      // reloads the model anyway and takes the new marker, which tells its status from the old one's.
      // (Compared as values: a stored placement comes back from Postgres with its keys reordered.)
      const sameModel = isDeepStrictEqual(renderLlmConfig(model.modelId, model.spec, settings), serving.llm_config);
      const inPlace = renderModelApp(model.modelKey, model.modelId, model.spec, sameModel ? serving.marker : model.marker, settings);
      return { ...current, apps: [{ ...inPlace, app_name: serving.app_name }] };
    }
    case 'stage': {
      const candidate = renderModelApp(model.modelKey, model.modelId, model.spec, model.marker, settings);
      if (candidate.app_name === serving.app_name) return { ...current, apps: [{ ...candidate }] };
      return { ...current, apps: [serving, candidate] };
    }
    case 'promote': {
      const target = model.targetApp ?? modelAppName(settings, model.modelKey, model.marker);
      if (!current.apps.some((a) => a.app_name === target)) throw new PlacementStepError(`cannot promote ${target}: it is not staged`);
      const promoted = current.apps.find((a) => a.app_name === target) as ModelApp;
      return { ...current, routed_app: target, apps: [promoted, ...current.apps.filter((a) => a.app_name !== target)] };
    }
    case 'retire':
      return { ...current, apps: [serving] };
    case 'restart': {
      const restarted = renderModelApp(model.modelKey, model.modelId, model.spec, model.marker, settings);
      return { ...current, apps: [{ ...restarted, app_name: serving.app_name }] };
    }
  }
}
