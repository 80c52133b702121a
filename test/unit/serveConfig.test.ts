import { loadConfig } from '../../src/config/config';
import { deploymentNameFor, renderDeploymentOverride, renderLlmConfig, STOCK_VLLM_ENGINE } from '../../src/ray/serveConfig';
import { renderSingleAppBody, renderManagedApplication, renderModelConfig } from '../../src/ray/singleAppLayout';
import type { ServingSpec } from '../../src/domain/servingSpec';

const spec: ServingSpec = {
  model_id_suffix: 'qwen-0.5b',
  model_source: '/private/hf/Qwen/q',
  num_replicas: 2,
  gpus_per_replica: 4,
  engine_kwargs: { max_model_len: 8192 },
  readiness_timeout_s: null,
};
const settings = { appName: 'argus_llm_app', storageRoot: '/mnt/storage', acceleratorType: 'H20', engine: STOCK_VLLM_ENGINE };
/** The engines config/dev.yaml offers. */
const engines = loadConfig({}).serving.llm.engines;

describe('Serve config rendering', () => {
  it('renders one LLMConfig per model with platform-controlled fields, and nothing that changes per rollout', () => {
    expect(renderLlmConfig('alice-202601061230-qwen-0.5b', spec, settings)).toEqual({
      model_loading_config: { model_id: 'alice-202601061230-qwen-0.5b', model_source: '/mnt/storage/hf/Qwen/q' },
      accelerator_type: 'H20',
      engine_kwargs: { max_model_len: 8192, tensor_parallel_size: 4 },
    });
  });

  it('renders autoscaling with every field Ray would otherwise take from its own defaults', () => {
    const autoscaled: ServingSpec = { ...spec, num_replicas: 1, autoscaling: { min_replicas: 0, max_replicas: 4, target_ongoing_requests: 8, idle_timeout_s: 300 } };
    const timing = { upscale_delay_s: 5, downscale_delay_s: 30, metrics_interval_s: 1, look_back_period_s: 4 };
    expect(renderDeploymentOverride('m', autoscaled, 'r1', { ...settings, autoscaling: timing }).autoscaling_config).toEqual({
      min_replicas: 0,
      max_replicas: 4,
      initial_replicas: 1, // a rollout proves the model loads before it may scale to zero
      target_ongoing_requests: 8,
      upscale_delay_s: 5,
      downscale_delay_s: 30,
      downscale_to_zero_delay_s: 300,
      metrics_interval_s: 1,
      look_back_period_s: 4,
    });
    const floorOfTwo = renderDeploymentOverride('m', { ...autoscaled, num_replicas: 2, autoscaling: { ...autoscaled.autoscaling!, min_replicas: 2 } }, 'r1', settings);
    expect(floorOfTwo.autoscaling_config).not.toHaveProperty('downscale_to_zero_delay_s');
    expect(floorOfTwo.autoscaling_config.initial_replicas).toBe(2);
  });

  it('renders env, resources, the accelerator asked for and a layout across nodes', () => {
    const full: ServingSpec = {
      ...spec,
      gpus_per_replica: 16,
      parallelism: { tensor_parallel_size: 8, pipeline_parallel_size: 2 },
      env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'true' },
      resources: { cpus_per_replica: 4, memory_gib_per_replica: 32 },
      accelerator_type: 'A100',
    };
    const llm = renderLlmConfig('m', full, settings);
    expect(llm.engine_kwargs).toMatchObject({ tensor_parallel_size: 8, pipeline_parallel_size: 2 });
    expect(llm.accelerator_type).toBe('A100');
    // The server class sizes the replica's first placement bundle from the definition's actor options.
    expect(llm.deployment_config).toEqual({ ray_actor_options: { num_cpus: 4, memory: 32 * 2 ** 30 } });
    const override = renderDeploymentOverride('m', full, 'r2', settings);
    expect(override.ray_actor_options).toMatchObject({ num_cpus: 4, memory: 32 * 2 ** 30 });
    expect(override.ray_actor_options.runtime_env.env_vars).toEqual({ VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'true', ARGUS_MODEL_REVISION: 'r2' });
    // An engine that fixes its own parallelism (the CPU build) wins over the layout.
    const cpu = renderLlmConfig('m', full, { ...settings, engine: engines['vllm-cpu']! });
    expect(cpu.engine_kwargs.tensor_parallel_size).toBe(1);
    expect(cpu.engine_kwargs).not.toHaveProperty('pipeline_parallel_size');
  });

  it('puts replicas and the revision marker in the deployment override, outside the hashed args', () => {
    const model = renderModelConfig('alice-202601061230-qwen-0.5b', spec, 'r3', settings);
    expect(model.deployment).toEqual({
      name: 'LLMServer:alice-202601061230-qwen-0_5b',
      autoscaling_config: { min_replicas: 2, max_replicas: 2, initial_replicas: 2 },
      ray_actor_options: { runtime_env: { env_vars: { ARGUS_MODEL_REVISION: 'r3' }, worker_process_setup_hook: 'ray.llm._internal.serve._worker_process_setup_hook' } },
    });
    // A scale or a retry of one model leaves every model's args entry, and so the app's code version, as it was.
    const scaled = renderModelConfig('alice-202601061230-qwen-0.5b', { ...spec, num_replicas: 5 }, 'r4', settings);
    expect(scaled.llm_config).toEqual(model.llm_config);
    expect(scaled.deployment?.ray_actor_options.runtime_env.env_vars.ARGUS_MODEL_REVISION).toBe('r4');
    const standIn = renderModelConfig('m', spec, 'r1', { ...settings, engine: engines.standin! });
    expect(standIn.deployment).toMatchObject({ name: 'StandInLLMServer:m', ray_actor_options: { num_cpus: 0.1 } });
  });

  it("renders vLLM's CPU build with the platform's engine settings, which win over the user's", () => {
    const cpu = { ...settings, engine: engines['vllm-cpu']! };
    const llm = renderLlmConfig('m', { ...spec, engine_kwargs: { max_model_len: 8192, seed: 7 } }, cpu);
    // Ray Serve LLM refuses accelerator_type beside a CPU accelerator_config.
    expect(llm.accelerator_config).toEqual({ kind: 'cpu' });
    expect('accelerator_type' in llm).toBe(false);
    expect(llm.placement_group_config).toEqual({ bundles: [{ CPU: 0.5 }] });
    expect(llm.engine_kwargs).toMatchObject({ seed: 7, max_model_len: 512, dtype: 'bfloat16', enforce_eager: true, kv_cache_memory_bytes: 67108864 });
    expect(Number.isInteger(llm.engine_kwargs.kv_cache_memory_bytes)).toBe(true);
    expect(llm.deployment_config).toEqual({ max_constructor_retry_count: 1 });
    const override = renderDeploymentOverride('m', spec, 'r1', cpu);
    expect(override).toMatchObject({ name: 'LLMServer:m', health_check_period_s: 2, health_check_timeout_s: 5, ray_actor_options: { num_cpus: 0.1 } });
    // Production's GPU engine keeps Ray Serve LLM's own defaults.
    const gpu = renderDeploymentOverride('m', spec, 'r1', { ...settings, engine: engines.vllm! });
    expect(Object.keys(gpu).sort()).toEqual(['autoscaling_config', 'name', 'ray_actor_options']);
    expect(renderLlmConfig('m', spec, { ...settings, engine: engines.vllm! })).toEqual(renderLlmConfig('m', spec, settings));
  });

  it('lists every model in args and every override in deployments', () => {
    const app = renderManagedApplication('argus_llm_app', [renderModelConfig('a', spec, 'r1', settings), renderModelConfig('b', spec, 'r2', settings)]);
    expect((app.args as { llm_configs: unknown[] }).llm_configs).toHaveLength(2);
    expect((app.deployments as Array<{ name: string }>).map((d) => d.name)).toEqual(['LLMServer:a', 'LLMServer:b']);
  });

  it('sets server_cls only where configured', () => {
    const withStandIn = renderLlmConfig('m', spec, { ...settings, engine: { ...STOCK_VLLM_ENGINE, server_cls: 'argus_standin.server:StandInLLMServer' } });
    expect(withStandIn.server_cls).toBe('argus_standin.server:StandInLLMServer');
    expect('server_cls' in renderLlmConfig('m', spec, settings)).toBe(false);
  });

  it('keeps foreign apps and drops the managed app when no model is left', () => {
    const foreign = { name: 'theirs', import_path: 'x:y', route_prefix: '/theirs' };
    const managed = renderManagedApplication('argus_llm_app', [renderModelConfig('m', spec, 'r1', settings)]);
    expect(renderSingleAppBody(managed, [foreign]).applications.map((a) => a.name)).toEqual(['theirs', 'argus_llm_app']);
    expect(renderSingleAppBody(null, [foreign]).applications).toEqual([foreign]);
  });

  it('names deployments the way Ray does', () => {
    expect(deploymentNameFor('org/Model', null)).toBe('LLMServer:org--Model');
    expect(deploymentNameFor('alice-1-m', 'argus_standin.server:StandInLLMServer')).toBe('StandInLLMServer:alice-1-m');
  });
});
