import { errorBodySchema, modelDetailSchema, requestAckSchema } from '../../src/api/contract/responseSchemas';
import { startApiHarness } from '../support/apiHarness';
import type { CallOptions } from '../support/httpClient';
import { eventually } from '../support/stack';

/**
 * The spec fields users of the reference systems expect (autoscaling, env, resources,
 * accelerator_type, description, repo ids, replicas larger than a node) through the HTTP API,
 * against real Temporal and Postgres and the Ray double, which reports two nodes of 8 GPUs.
 */
let h: Awaited<ReturnType<typeof startApiHarness>>;
beforeAll(async () => {
  h = await startApiHarness();
  // Three nodes of 8: a 16-GPU replica is split across two of them, and fits beside the other models.
  h.ray.nodes = [
    { gpus: 8, acceleratorType: 'H20' },
    { gpus: 8, acceleratorType: 'H20' },
    { gpus: 8, acceleratorType: 'H20' },
  ];
});
afterAll(async () => {
  await h?.close();
});

const yaml = (text: string): CallOptions => ({ body: text, type: 'application/yaml' });
const json = (value: unknown): CallOptions => ({ body: JSON.stringify(value), type: 'application/json' });
const detailOf = async (key: string) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`)).body);
const reaches = (key: string, state: string) => eventually(async () => (await detailOf(key)).model.state === state, 45_000, `${key} to reach ${state}`);
/** The override and definition of a model's deployment in the last PUT Ray received. */
function lastPutOf(modelId: string) {
  const apps = h.ray.puts[h.ray.puts.length - 1] ?? [];
  for (const app of apps) {
    const llm = (app.args as { llm_config?: { model_loading_config: { model_id: string }; engine_kwargs: Record<string, unknown> } } | undefined)?.llm_config;
    if (llm?.model_loading_config.model_id === modelId) return { llm, override: (app.deployments as unknown as Array<Record<string, unknown>>)[0] as Record<string, unknown> };
  }
  throw new Error(`${modelId} is in no app of the last PUT`);
}

/** The example, verbatim but for a repo id staged here. */
const EXAMPLE = `model_id: qwen-0.5b
model_source: argus-demo/tiny-chat
gpus_per_replica: 1
autoscaling:                                    # instead of num_replicas (both: 422)
  min_replicas: 0                               # 0 = scale to zero when idle
  max_replicas: 4
  target_ongoing_requests: 8                    # per replica
  idle_timeout_s: 300                           # idle time before scaling to zero
env: {VLLM_ALLOW_RUNTIME_LORA_UPDATING: "true"}
resources: {cpus_per_replica: 4, memory_gib_per_replica: 32}
accelerator_type: H20                           # one of the platform's list; default the platform's
description: text to text model service
`;

describe('a spec with every new field', () => {
  let key = '';
  let modelId = '';

  it('is accepted, served, and shown with what it resolved to', async () => {
    const ack = requestAckSchema.parse((await h.call('POST', '/api/v2/serve/models', yaml(EXAMPLE))).body);
    key = ack.model_key;
    await reaches(key, 'RUNNING');
    const detail = await detailOf(key);
    modelId = detail.model.model_id;
    expect(detail.model).toMatchObject({
      model_repo: { repo_id: 'argus-demo/tiny-chat', revision: 'main' },
      description: 'text to text model service',
      num_replicas: 1,
      autoscaling: { min_replicas: 0, max_replicas: 4, target_ongoing_requests: 8, idle_timeout_s: 300 },
      layout: { tensor_parallel_size: 1, pipeline_parallel_size: 1 },
      total_gpus: 4,
      accelerator_type: 'H20',
      resources: { cpus_per_replica: 4, memory_gib_per_replica: 32 },
      env_names: ['VLLM_ALLOW_RUNTIME_LORA_UPDATING'],
    });
    expect(detail.model.model_source).toMatch(/^\/private\/hf\/hub\/models--argus-demo--tiny-chat\/snapshots\/[0-9a-f]{40}$/);
    expect(detail.resolved_spec_yaml).toContain('# argus-demo/tiny-chat@main');
    expect(detail.resolved_spec_yaml).toContain('VLLM_ALLOW_RUNTIME_LORA_UPDATING: "true"');
    expect(detail.resolved_spec_yaml).not.toContain('num_replicas');
    // Events name the variable, never its value.
    const requested = detail.events.find((e) => e.event_type === 'DEPLOY_REQUESTED');
    expect(requested?.payload).toMatchObject({ spec: { env_names: ['VLLM_ALLOW_RUNTIME_LORA_UPDATING'] } });
    expect(JSON.stringify(detail.events)).not.toContain('"true"');
  });

  it('reaches Ray as a full autoscaling_config, the env, the CPU and memory request and the accelerator', () => {
    const { llm, override } = lastPutOf(modelId);
    expect(override.autoscaling_config).toEqual({
      min_replicas: 0,
      max_replicas: 4,
      initial_replicas: 1,
      target_ongoing_requests: 8,
      upscale_delay_s: 10,
      downscale_delay_s: 60,
      downscale_to_zero_delay_s: 300,
      metrics_interval_s: 2,
      look_back_period_s: 10,
    });
    expect(override.ray_actor_options).toMatchObject({ num_cpus: 4, memory: 32 * 2 ** 30, runtime_env: { env_vars: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'true' } } });
    expect(llm).toMatchObject({ accelerator_type: 'H20', deployment_config: { ray_actor_options: { num_cpus: 4, memory: 32 * 2 ** 30 } } });
  });

  it('PATCH switches between fixed and autoscaled, and a scale keeps the model loaded', async () => {
    const replicasBefore = JSON.stringify(h.ray.replicaIds());
    const fixed = requestAckSchema.parse((await h.call('PATCH', `/api/v2/serve/models/${key}`, json({ num_replicas: 1 }))).body);
    expect(fixed.changed).toBe(true);
    await reaches(key, 'RUNNING');
    let detail = await detailOf(key);
    expect(detail.model.autoscaling).toBeNull();
    expect(detail.resolved_spec_yaml).toContain('num_replicas: 1');
    expect(lastPutOf(modelId).override.autoscaling_config).toEqual({ min_replicas: 1, max_replicas: 1, initial_replicas: 1 });
    expect(JSON.stringify(h.ray.replicaIds())).toBe(replicasBefore);

    requestAckSchema.parse((await h.call('PATCH', `/api/v2/serve/models/${key}`, json({ autoscaling: { min_replicas: 1, max_replicas: 3 } }))).body);
    await reaches(key, 'RUNNING');
    detail = await detailOf(key);
    expect(detail.model.autoscaling).toEqual({ min_replicas: 1, max_replicas: 3, target_ongoing_requests: 8, idle_timeout_s: 300 });
    const scale = detail.events.filter((e) => e.event_type === 'SCALE_REQUESTED').pop();
    expect(scale?.payload).toMatchObject({ autoscaling: { max_replicas: 3 } });
    expect(JSON.stringify(h.ray.replicaIds())).toBe(replicasBefore);
  });

  it.each([
    ['both num_replicas and autoscaling', { num_replicas: 2, autoscaling: { max_replicas: 2 } }, 422, 'invalid_resources'],
    ['an autoscaling range upside down', { autoscaling: { min_replicas: 3, max_replicas: 1 } }, 422, 'invalid_resources'],
    ['env', { env: { A: 'b' } }, 400, 'invalid_spec'],
    ['description', { description: 'x' }, 400, 'invalid_spec'],
  ])('PATCH with %s is refused and changes nothing', async (_name, body, status, code) => {
    const before = await detailOf(key);
    const response = await h.call('PATCH', `/api/v2/serve/models/${key}`, json(body));
    expect(response.status).toBe(status);
    expect(errorBodySchema.parse(response.body).error.code).toBe(code);
    const after = await detailOf(key);
    expect(after.events).toHaveLength(before.events.length);
    expect(after.resolved_spec_yaml).toBe(before.resolved_spec_yaml);
  });
});

describe('a replica larger than one node', () => {
  it('is split into tensor x pipeline stages across two nodes', async () => {
    const ack = requestAckSchema.parse((await h.call('POST', '/api/v2/serve/models', yaml('model_id: big.model\nmodel_source: $HOME/common/hf/demo/tiny-chat\ngpus_per_replica: 16\n'))).body);
    await reaches(ack.model_key, 'RUNNING');
    const detail = await detailOf(ack.model_key);
    expect(detail.model.layout).toEqual({ tensor_parallel_size: 8, pipeline_parallel_size: 2 });
    expect(detail.model.total_gpus).toBe(16);
    // The stand-in engine of this tier takes the layout as vLLM would.
    expect(lastPutOf(detail.model.model_id).llm.engine_kwargs).toMatchObject({ tensor_parallel_size: 8, pipeline_parallel_size: 2 });
  });
});

describe('bad values of the new fields', () => {
  it.each([
    ['a replica larger than the cluster', 'gpus_per_replica: 32\n', 422, 'invalid_resources', 'gpus_per_replica', /3 nodes with 8, 8, 8 GPUs/],
    ['an accelerator not offered', 'accelerator_type: A100\n', 422, 'invalid_accelerator_type', 'accelerator_type', /must be one of H20/],
    ['a platform variable', 'env: {CUDA_VISIBLE_DEVICES: "0"}\n', 400, 'invalid_env', 'env.CUDA_VISIBLE_DEVICES', /CUDA_VISIBLE_DEVICES is set by the platform/],
    ['a bad variable name', 'env: {my-var: "0"}\n', 400, 'invalid_env', 'env', /"my-var" must match/],
    ['zero memory', 'resources: {memory_gib_per_replica: 0}\n', 422, 'invalid_resources', 'resources.memory_gib_per_replica', /above 0/],
    ['an idle time too short', 'autoscaling: {min_replicas: 0, max_replicas: 1, idle_timeout_s: 1}\n', 422, 'invalid_resources', 'autoscaling.idle_timeout_s', /from 10/],
  ])('%s is refused naming the field', async (_name, extra, status, code, field, message) => {
    const response = await h.call('POST', '/api/v2/serve/models', yaml(`model_id: bad-one\nmodel_source: $HOME/common/hf/demo/tiny-chat\n${extra}`));
    expect(response.status).toBe(status);
    const error = errorBodySchema.parse(response.body).error;
    expect(error).toMatchObject({ code, field });
    expect(error.message).toMatch(message);
  });

  it('answers a repo id that is not staged with the path where it must be staged', async () => {
    const response = await h.call('POST', '/api/v2/serve/models', yaml('model_id: qwen-0.5b\nmodel_source: Qwen/Qwen2.5-0.5B-Instruct\n'));
    expect(response.status).toBe(422);
    const error = errorBodySchema.parse(response.body).error;
    expect(error).toMatchObject({ code: 'model_not_staged', field: 'model_source' });
    expect(error.message).toContain('/private/hf/hub/models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/<commit>');
    expect(error.message).not.toContain(h.stack.config.serving.storage_root);
  });

  it('creates nothing for any refused spec', async () => {
    const list = (await h.call('GET', '/api/v2/serve/models')).body as { items: Array<{ model_id_suffix: string }> };
    expect(list.items.map((m) => m.model_id_suffix).sort()).toEqual(['big.model', 'qwen-0.5b']);
  });
});
