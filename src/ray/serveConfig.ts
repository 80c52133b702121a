import type { ServingSpec } from '../domain/servingSpec';
import { toStoragePath } from '../domain/modelSourcePath';

/** Platform settings that shape every rendered LLMConfig; users never set these. */
export interface RenderSettings {
  appName: string;
  storageRoot: string;
  acceleratorType: string | null;
  /** `module:Class` of a non-default server (the CPU stand-in), or null for Ray's stock vLLM server. */
  serverCls: string | null;
}

export interface LlmConfig {
  model_loading_config: { model_id: string; model_source: string };
  accelerator_type?: string;
  deployment_config: { num_replicas: number };
  engine_kwargs: Record<string, unknown>;
  runtime_env: { env_vars: Record<string, string> };
  server_cls?: string;
}

export interface ServeApplication {
  name: string;
  route_prefix?: string | null;
  import_path: string;
  args?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ServeDeployBody {
  applications: ServeApplication[];
  [key: string]: unknown;
}

/**
 * One model's LLMConfig. `ARGUS_MODEL_REVISION` in the model's runtime_env is the revision
 * marker: Ray ignores an identical PUT even after DEPLOY_FAILED, so each rollout (and each
 * retry) must change this model's config, and only this model's.
 */
export function renderLlmConfig(modelId: string, spec: ServingSpec, rolloutMarker: string, settings: RenderSettings): LlmConfig {
  const config: LlmConfig = {
    model_loading_config: { model_id: modelId, model_source: toStoragePath(spec.model_source, settings.storageRoot) },
    deployment_config: { num_replicas: spec.num_replicas },
    engine_kwargs: { ...spec.engine_kwargs, tensor_parallel_size: spec.gpus_per_replica },
    runtime_env: { env_vars: { ARGUS_MODEL_REVISION: rolloutMarker } },
  };
  if (settings.acceleratorType) config.accelerator_type = settings.acceleratorType;
  if (settings.serverCls) config.server_cls = settings.serverCls;
  return config;
}

/** The single `build_openai_app` application holding every managed model. */
export function renderManagedApplication(appName: string, llmConfigs: LlmConfig[]): ServeApplication {
  return {
    name: appName,
    route_prefix: '/',
    import_path: 'ray.serve.llm:build_openai_app',
    args: {
      llm_configs: llmConfigs,
      // The ingress only routes; it needs a sliver of CPU, not a whole core.
      ingress_deployment_config: { ray_actor_options: { num_cpus: 0.1 } },
    },
  };
}

/**
 * The complete PUT body. PUT replaces every app on the cluster, so apps this product does not
 * manage are sent back exactly as Ray reports them deployed. With no model left, the managed app
 * is omitted (an app with no models cannot be built).
 */
export function renderDeployBody(managed: ServeApplication | null, foreignApps: ServeApplication[]): ServeDeployBody {
  return { applications: managed ? [...foreignApps, managed] : [...foreignApps] };
}

/** Ray names each model's deployment `<ServerClass>:<model_id with "/" replaced by "--">`. */
export function deploymentNameFor(modelId: string, serverCls: string | null): string {
  const className = serverCls ? (serverCls.split(':')[1] ?? 'LLMServer') : 'LLMServer';
  return `${className}:${modelId.replace(/\//g, '--')}`;
}
