import { deploymentNameFor, renderDeployBody, renderLlmConfig, renderManagedApplication } from '../../src/ray/serveConfig';
import type { ServingSpec } from '../../src/domain/servingSpec';

const spec: ServingSpec = {
  model_id_suffix: 'qwen-0.5b',
  model_source: '/private/hf/Qwen/q',
  num_replicas: 2,
  gpus_per_replica: 4,
  engine_kwargs: { max_model_len: 8192 },
  readiness_timeout_s: null,
};
const settings = { appName: 'argus_llm_app', storageRoot: '/mnt/storage', acceleratorType: 'H20', serverCls: null };

describe('Serve config rendering', () => {
  it('renders one LLMConfig per model with platform-controlled fields', () => {
    expect(renderLlmConfig('alice-202601061230-qwen-0.5b', spec, 'r3', settings)).toEqual({
      model_loading_config: { model_id: 'alice-202601061230-qwen-0.5b', model_source: '/mnt/storage/hf/Qwen/q' },
      accelerator_type: 'H20',
      deployment_config: { num_replicas: 2 },
      engine_kwargs: { max_model_len: 8192, tensor_parallel_size: 4 },
      runtime_env: { env_vars: { ARGUS_MODEL_REVISION: 'r3' } },
    });
  });

  it('sets server_cls only where configured', () => {
    const withStandIn = renderLlmConfig('m', spec, 'r1', { ...settings, serverCls: 'argus_standin.server:StandInLLMServer' });
    expect(withStandIn.server_cls).toBe('argus_standin.server:StandInLLMServer');
    expect('server_cls' in renderLlmConfig('m', spec, 'r1', settings)).toBe(false);
  });

  it('keeps foreign apps and drops the managed app when no model is left', () => {
    const foreign = { name: 'theirs', import_path: 'x:y', route_prefix: '/theirs' };
    const managed = renderManagedApplication('argus_llm_app', [renderLlmConfig('m', spec, 'r1', settings)]);
    expect(renderDeployBody(managed, [foreign]).applications.map((a) => a.name)).toEqual(['theirs', 'argus_llm_app']);
    expect(renderDeployBody(null, [foreign]).applications).toEqual([foreign]);
  });

  it('names deployments the way Ray does', () => {
    expect(deploymentNameFor('org/Model', null)).toBe('LLMServer:org--Model');
    expect(deploymentNameFor('alice-1-m', 'argus_standin.server:StandInLLMServer')).toBe('StandInLLMServer:alice-1-m');
  });
});
