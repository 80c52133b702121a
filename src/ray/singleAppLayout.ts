import type { ServingSpec } from '../domain/servingSpec';
import { DeploymentOverride, LlmConfig, renderDeploymentOverride, renderLlmConfig, RenderSettings, ServeApplication } from './serveConfig';

/**
 * The previous release's layout: every model inside one `build_openai_app` application behind
 * Ray's stock ingress. Adding, removing or redefining any model there restarts every other
 * model and the ingress, which is why models now live in apps of their own. Kept to read and
 * migrate clusters left in it, and as the baseline the benchmarks compare the new layout with.
 */
export interface ModelConfig {
  llm_config: LlmConfig;
  /** Absent only in entries written before the override existed. */
  deployment?: DeploymentOverride;
}

export function renderModelConfig(modelId: string, spec: ServingSpec, rolloutMarker: string, settings: RenderSettings): ModelConfig {
  return { llm_config: renderLlmConfig(modelId, spec, settings), deployment: renderDeploymentOverride(modelId, spec, rolloutMarker, settings) };
}

/** The single `build_openai_app` application holding every model of the single-app layout. */
export function renderManagedApplication(appName: string, models: ModelConfig[]): ServeApplication {
  return {
    name: appName,
    route_prefix: '/',
    import_path: 'ray.serve.llm:build_openai_app',
    args: {
      llm_configs: models.map((m) => m.llm_config),
      // The ingress only routes; it needs a sliver of CPU, not a whole core.
      ingress_deployment_config: { ray_actor_options: { num_cpus: 0.1 } },
    },
    deployments: models.flatMap((m) => (m.deployment ? [m.deployment] : [])),
  };
}

/** A PUT body of the single-app layout: the managed app (if any model is left) after the foreign apps. */
export function renderSingleAppBody(managed: ServeApplication | null, foreignApps: ServeApplication[]): { applications: ServeApplication[] } {
  return { applications: managed ? [...foreignApps, managed] : [...foreignApps] };
}

/** Whether a stored cluster entry is of the single-app layout (no `layout` field). */
export function isSingleAppEntry(entry: unknown): entry is ModelConfig {
  return typeof entry === 'object' && entry !== null && 'llm_config' in entry && !('layout' in entry);
}
