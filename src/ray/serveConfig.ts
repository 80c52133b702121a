import { type AppConfig, engineSettingsOf, type EngineSettings } from '../config/config';
import type { AutoscalingSpec } from '../domain/autoscaling';
import { replicasAtStart } from '../domain/autoscaling';
import { parallelismOf, type ServingSpec } from '../domain/servingSpec';
import { toStoragePath } from '../domain/modelSourcePath';
import { gibToBytes } from '../domain/replicaResources';

/** Platform settings that shape every rendered config; users never set these. */
export interface RenderSettings {
  /**
   * The ingress application (route "/"), the only HTTP entry of the Serve cluster. Each model's
   * own apps are named after it (`<appName>--<model_key>--<revision>`). The previous release
   * kept every model inside one app of this name, which the ingress replaces on upgrade.
   */
  appName: string;
  storageRoot: string;
  acceleratorType: string | null;
  /** What the platform sets for the engine replicas run (config/dev.yaml, serving.llm.engines). */
  engine: EngineSettings;
  /** How fast autoscaled models react (serving.autoscaling; default its defaults); the user sets the range, target and idle time. */
  autoscaling?: AutoscalingTiming;
}

/** config/dev.yaml's serving.autoscaling. */
export const DEFAULT_AUTOSCALING_TIMING: AutoscalingTiming = { upscale_delay_s: 10, downscale_delay_s: 60, metrics_interval_s: 2, look_back_period_s: 10 };

/** The autoscaler's timings the platform sets for every autoscaled model. */
export interface AutoscalingTiming {
  upscale_delay_s: number;
  downscale_delay_s: number;
  metrics_interval_s: number;
  look_back_period_s: number;
}

/** Ray Serve's autoscaling_config, every field the platform means set (see renderAutoscaling). */
export interface RayAutoscalingConfig {
  min_replicas: number;
  max_replicas: number;
  initial_replicas: number;
  target_ongoing_requests?: number;
  upscale_delay_s?: number;
  downscale_delay_s?: number;
  downscale_to_zero_delay_s?: number;
  metrics_interval_s?: number;
  look_back_period_s?: number;
}

/** Ray Serve LLM's stock vLLM server with Ray's own defaults: the GPU engine of production. */
export const STOCK_VLLM_ENGINE: EngineSettings = {
  server_cls: null,
  accelerator_config: null,
  placement_bundles: null,
  replica_num_cpus: null,
  engine_kwargs: {},
  health_check_period_s: null,
  health_check_timeout_s: null,
  max_constructor_retry_count: null,
  worker_setup_hook: null,
};

export function renderSettingsOf(config: AppConfig): RenderSettings {
  return {
    appName: config.serving.app_name,
    storageRoot: config.serving.storage_root,
    acceleratorType: config.serving.llm.accelerator_type,
    engine: engineSettingsOf(config),
    autoscaling: config.serving.autoscaling,
  };
}

export interface LlmConfig {
  model_loading_config: { model_id: string; model_source: string };
  accelerator_type?: string;
  accelerator_config?: Record<string, unknown>;
  placement_group_config?: { bundles: Array<Record<string, number>> };
  engine_kwargs: Record<string, unknown>;
  /**
   * Options Serve takes only from the deployment's code, not from the config's override
   * (max_constructor_retry_count). In configs rendered before replicas and the revision marker
   * moved to the deployment override, it held num_replicas.
   */
  deployment_config?: { num_replicas?: number; max_constructor_retry_count?: number; ray_actor_options?: ReplicaActorOptions };
  runtime_env?: { env_vars: Record<string, string> };
  server_cls?: string;
}

/**
 * A model's entry in its application's `deployments:` list. Ray hashes an application's `args`
 * into the code version of its deployments, so the override carries what changes without a
 * reload of the model: the replica count (a scale adds or removes replicas, keeps the rest).
 */
export interface DeploymentOverride {
  name: string;
  /** Ray Serve LLM sets min = max = 1 by default, which a plain num_replicas cannot override. */
  autoscaling_config: RayAutoscalingConfig;
  /** Replaces the options the server class rendered, so it repeats what they hold. */
  ray_actor_options: ReplicaActorOptions & { runtime_env: { env_vars: Record<string, string>; worker_process_setup_hook?: string } };
  health_check_period_s?: number;
  health_check_timeout_s?: number;
}

/** The replica actor's own resources; the server class adds them to the first placement bundle. */
export interface ReplicaActorOptions {
  num_cpus?: number;
  /** Bytes. */
  memory?: number;
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

/**
 * The variable a Ray 2.58 worker process reads at start to run a setup hook (`module.function`)
 * before it loads any task or actor (`ray/_private/workers/default_worker.py`). A
 * `worker_process_setup_hook` in a task's or actor's runtime_env only records a name: Ray turns it
 * into this variable for the job's runtime_env alone (`ray/_private/runtime_env/setup_hook.py`:
 * "This field is no-op ... just for the observability purpose"). So an engine's own hook is set
 * here, in the runtime_env of the processes that must run it.
 */
export const RAY_SETUP_HOOK_ENV_VAR = '__RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR';

/**
 * The runtime_env that makes a process run the engine's worker setup hook (the stand-in's keeps
 * vLLM and torch out: without it a replica or an app build imports them, 6-8 s and 0.7 GB each).
 * Empty when the engine has none (Ray Serve LLM's own hook, a logging set-up, stays as it is).
 */
export function setupHookEnv(engine: Pick<EngineSettings, 'worker_setup_hook'>): Record<string, string> {
  return engine.worker_setup_hook ? { [RAY_SETUP_HOOK_ENV_VAR]: engine.worker_setup_hook } : {};
}

/**
 * One model's LLMConfig: only what defines the model (source, engine arguments, accelerator,
 * server class). A change here is a redefinition: the model's engine must load again.
 */
export function renderLlmConfig(modelId: string, spec: ServingSpec, settings: RenderSettings): LlmConfig {
  const engine = settings.engine;
  const layout = parallelismOf(spec);
  const parallel: Record<string, number> = { tensor_parallel_size: layout.tensor_parallel_size };
  // An engine that fixes tensor_parallel_size (the CPU build: one engine per replica) fixes the whole layout.
  if (layout.pipeline_parallel_size > 1 && !('tensor_parallel_size' in engine.engine_kwargs)) parallel.pipeline_parallel_size = layout.pipeline_parallel_size;
  const config: LlmConfig = {
    model_loading_config: { model_id: modelId, model_source: toStoragePath(spec.model_source, settings.storageRoot) },
    // The platform's engine arguments win: they are what the engine's tier can hold.
    engine_kwargs: { ...spec.engine_kwargs, ...parallel, ...engine.engine_kwargs },
  };
  if (engine.accelerator_config) config.accelerator_config = engine.accelerator_config;
  else if (spec.accelerator_type ?? settings.acceleratorType) config.accelerator_type = (spec.accelerator_type ?? settings.acceleratorType) as string;
  if (engine.placement_bundles) config.placement_group_config = { bundles: engine.placement_bundles };
  const deploymentConfig: NonNullable<LlmConfig['deployment_config']> = {};
  if (engine.max_constructor_retry_count !== null) deploymentConfig.max_constructor_retry_count = engine.max_constructor_retry_count;
  // The server class sizes the replica's first placement bundle from these, so they must be in
  // the model's definition too, not only in the override (a change reloads the model).
  const actor = replicaActorOptions(spec, engine);
  if (spec.resources && Object.keys(actor).length > 0) deploymentConfig.ray_actor_options = actor;
  if (Object.keys(deploymentConfig).length > 0) config.deployment_config = deploymentConfig;
  if (engine.server_cls) config.server_cls = engine.server_cls;
  return config;
}

function replicaActorOptions(spec: ServingSpec, engine: EngineSettings): ReplicaActorOptions {
  const cpus = spec.resources?.cpus_per_replica ?? engine.replica_num_cpus;
  const memory = spec.resources?.memory_gib_per_replica;
  return { ...(cpus !== null && cpus !== undefined ? { num_cpus: cpus } : {}), ...(memory !== undefined ? { memory: gibToBytes(memory) } : {}) };
}

/**
 * Ray Serve's autoscaling_config for a spec. An override replaces Ray Serve LLM's defaults as a
 * whole (unset fields fall back to Serve's own: a target of 2, a 600 s downscale delay), so an
 * autoscaled model gets every field set. A fixed count is min = max = initial.
 */
export function renderAutoscaling(spec: ServingSpec, timing: AutoscalingTiming): RayAutoscalingConfig {
  const range: AutoscalingSpec | null | undefined = spec.autoscaling;
  if (!range) return { min_replicas: spec.num_replicas, max_replicas: spec.num_replicas, initial_replicas: spec.num_replicas };
  return {
    min_replicas: range.min_replicas,
    max_replicas: range.max_replicas,
    initial_replicas: replicasAtStart(range),
    target_ongoing_requests: range.target_ongoing_requests,
    upscale_delay_s: timing.upscale_delay_s,
    downscale_delay_s: timing.downscale_delay_s,
    ...(range.min_replicas === 0 ? { downscale_to_zero_delay_s: range.idle_timeout_s } : {}),
    metrics_interval_s: timing.metrics_interval_s,
    look_back_period_s: timing.look_back_period_s,
  };
}

/**
 * The override of one model's deployment: its replica count, and the revision marker
 * `ARGUS_MODEL_REVISION` that names the revision the replicas run (shown in Ray's status, and
 * what tells the previous revision's status apart from the new one's).
 */
export function renderDeploymentOverride(modelId: string, spec: ServingSpec, marker: string, settings: RenderSettings): DeploymentOverride {
  const engine = settings.engine;
  return {
    name: deploymentNameFor(modelId, engine.server_cls),
    autoscaling_config: renderAutoscaling(spec, settings.autoscaling ?? DEFAULT_AUTOSCALING_TIMING),
    ray_actor_options: {
      ...replicaActorOptions(spec, engine),
      // The user's variables first: the platform's own (refused in specs anyway) always win.
      runtime_env: { env_vars: { ...spec.env, ARGUS_MODEL_REVISION: marker, ...setupHookEnv(engine) }, worker_process_setup_hook: engine.worker_setup_hook ?? LLM_WORKER_SETUP_HOOK },
    },
    ...(engine.health_check_period_s !== null ? { health_check_period_s: engine.health_check_period_s } : {}),
    ...(engine.health_check_timeout_s !== null ? { health_check_timeout_s: engine.health_check_timeout_s } : {}),
  };
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
