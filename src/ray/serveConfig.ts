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
  engine_kwargs: Record<string, unknown>;
  /** Only in configs rendered before replicas and the revision marker moved to the deployment override. */
  deployment_config?: { num_replicas: number };
  runtime_env?: { env_vars: Record<string, string> };
  server_cls?: string;
}

/**
 * One model's entry in the application's `deployments:` list. Ray hashes an application's
 * `args` into the code version of every deployment in it, so a change inside `args` restarts
 * every model's replicas; an override here changes only the deployment it names (seen on Ray
 * 2.58: scaling or re-marking one model left its neighbour's replica ids as they were).
 */
export interface DeploymentOverride {
  name: string;
  /** Ray Serve LLM sets min = max = 1 by default, which a plain num_replicas cannot override. */
  autoscaling_config: { min_replicas: number; max_replicas: number; initial_replicas: number };
  /** Replaces the options the server class rendered, so it repeats what they hold. */
  ray_actor_options: { num_cpus?: number; runtime_env: { env_vars: Record<string, string>; worker_process_setup_hook?: string } };
}

/** Everything the cluster needs for one model: its LLMConfig (in `args`) and its deployment override. */
export interface ModelConfig {
  llm_config: LlmConfig;
  /** Absent only in entries written before the override existed. */
  deployment?: DeploymentOverride;
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

/** What Ray Serve LLM 2.58 adds to every LLM replica's runtime_env (RAYLLM_ENABLE_WORKER_PROCESS_SETUP_HOOK, on by default). */
const LLM_WORKER_SETUP_HOOK = 'ray.llm._internal.serve._worker_process_setup_hook';
/** The CPU stand-in's replica actor asks for this much CPU (argus_standin.server.STANDIN_DEFAULT_NUM_CPUS). */
const STANDIN_REPLICA_NUM_CPUS = 0.1;

/**
 * One model's LLMConfig: only what defines the model (source, engine arguments, accelerator,
 * server class), so the application's `args` change only when a model is added, removed or
 * redefined.
 */
export function renderLlmConfig(modelId: string, spec: ServingSpec, settings: RenderSettings): LlmConfig {
  const config: LlmConfig = {
    model_loading_config: { model_id: modelId, model_source: toStoragePath(spec.model_source, settings.storageRoot) },
    engine_kwargs: { ...spec.engine_kwargs, tensor_parallel_size: spec.gpus_per_replica },
  };
  if (settings.acceleratorType) config.accelerator_type = settings.acceleratorType;
  if (settings.serverCls) config.server_cls = settings.serverCls;
  return config;
}

/**
 * One model's LLMConfig plus its deployment override, which carries the replica count and the
 * revision marker `ARGUS_MODEL_REVISION`: Ray ignores an identical PUT even after
 * DEPLOY_FAILED, so each rollout (and each retry) must change this model's config, and only
 * this model's; in the override, that restarts this model's replicas alone.
 */
export function renderModelConfig(modelId: string, spec: ServingSpec, rolloutMarker: string, settings: RenderSettings): ModelConfig {
  const replicas = spec.num_replicas;
  return {
    llm_config: renderLlmConfig(modelId, spec, settings),
    deployment: {
      name: deploymentNameFor(modelId, settings.serverCls),
      autoscaling_config: { min_replicas: replicas, max_replicas: replicas, initial_replicas: replicas },
      ray_actor_options: {
        ...(settings.serverCls ? { num_cpus: STANDIN_REPLICA_NUM_CPUS } : {}),
        runtime_env: { env_vars: { ARGUS_MODEL_REVISION: rolloutMarker }, worker_process_setup_hook: LLM_WORKER_SETUP_HOOK },
      },
    },
  };
}

/** The single `build_openai_app` application holding every managed model. */
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

/**
 * The complete PUT body. PUT replaces every app on the cluster, so apps this product does not
 * manage are sent back exactly as Ray reports them deployed. With no model left, the managed app
 * is omitted (an app with no models cannot be built).
 */
export function renderDeployBody(managed: ServeApplication | null, foreignApps: ServeApplication[]): ServeDeployBody {
  return { applications: managed ? [...foreignApps, managed] : [...foreignApps] };
}

/**
 * The name Ray Serve LLM 2.58 gives a model's deployment (`_get_deployment_name` in
 * `ray/llm/_internal/serve/core/server/builder.py`): `<ServerClass>:<model_id>` with "/" replaced
 * by "--" and "." by "_", so `qwen-0.5b` runs as `LLMServer:<prefix>-qwen-0_5b`. An override
 * that names it any other way names nothing, and Ray refuses the whole config.
 */
export function deploymentNameFor(modelId: string, serverCls: string | null): string {
  const className = serverCls ? (serverCls.split(':')[1] ?? 'LLMServer') : 'LLMServer';
  return `${className}:${modelId.replace(/\//g, '--').replace(/\./g, '_')}`;
}
