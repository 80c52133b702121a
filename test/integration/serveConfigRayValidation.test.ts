import { rayValidates } from '../support/rayValidation';
import { validateServingSpec } from '../../src/domain/servingSpec';
import { renderSingleAppBody, renderManagedApplication, renderModelConfig } from '../../src/ray/singleAppLayout';
import { STOCK_VLLM_ENGINE } from '../../src/ray/serveConfig';

/** Rendered configs are checked by Ray's own pydantic models (ServeDeploySchema, LLMConfig). */

const settings = { appName: 'argus_llm_app', storageRoot: '/srv/storage', acceleratorType: 'H20', engine: STOCK_VLLM_ENGINE };

describe("rendered Serve configs pass Ray's own validation", () => {
  it('accepts a production render (stock vLLM server) with several models and engine_kwargs', () => {
    const a = validateServingSpec({ model_id: 'qwen-0.5b', model_source: '/private/hf/Qwen/q', num_replicas: 2, gpus_per_replica: 2, engine_kwargs: { max_model_len: 8192, gpu_memory_utilization: 0.9, enforce_eager: true } }, { userId: 'alice', allowStandInKnobs: false });
    const b = validateServingSpec({ model_id: 'mine', model_source: '$HOME/ckpt' }, { userId: 'alice', allowStandInKnobs: false });
    const body = renderSingleAppBody(
      renderManagedApplication('argus_llm_app', [renderModelConfig('alice-202601010000-qwen-0.5b', a, 'r1', settings), renderModelConfig('alice-202601010000-mine', b, 'r4', settings)]),
      [{ name: 'theirs', import_path: 'x.y:app', route_prefix: '/theirs' }],
    );
    const verdict = rayValidates(body);
    expect(verdict.output).toContain('ok');
    expect(verdict.ok).toBe(true);
  });

  it('accepts the stand-in server_cls render', () => {
    const spec = validateServingSpec({ model_id: 'tiny', model_source: '/private/hf/demo/tiny-chat', engine_kwargs: { standin_load_delay_s: 1 } }, { userId: 'bob', allowStandInKnobs: true });
    const body = renderSingleAppBody(renderManagedApplication('argus_llm_app', [renderModelConfig('bob-1-tiny', spec, 'r1', { ...settings, engine: { ...STOCK_VLLM_ENGINE, server_cls: 'argus_standin.server:StandInLLMServer' } })]), []);
    expect(rayValidates(body).ok).toBe(true);
  });

  it('fails when a field Ray rejects is rendered (the check can fail)', () => {
    const spec = validateServingSpec({ model_id: 'x', model_source: '/private/hf/x' }, { userId: 'bob', allowStandInKnobs: false });
    const bad = renderModelConfig('bob-1-x', spec, 'r1', { ...settings, acceleratorType: 'NOT_A_GPU' });
    const verdict = rayValidates(renderSingleAppBody(renderManagedApplication('argus_llm_app', [bad]), []));
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toMatch(/accelerator/i);
  });

  it('fails when a deployment override names a deployment the builder does not create', () => {
    const spec = validateServingSpec({ model_id: 'x', model_source: '/private/hf/x' }, { userId: 'bob', allowStandInKnobs: false });
    const model = renderModelConfig('bob-1-x', spec, 'r1', settings);
    const misnamed = { ...model, deployment: { ...model.deployment!, name: 'LLMServer:someone-else' } };
    const verdict = rayValidates(renderSingleAppBody(renderManagedApplication('argus_llm_app', [misnamed]), []));
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toContain('LLMServer:someone-else');
  });

  it('fails when an override carries a field Ray rejects', () => {
    const spec = validateServingSpec({ model_id: 'x', model_source: '/private/hf/x' }, { userId: 'bob', allowStandInKnobs: false });
    const model = renderModelConfig('bob-1-x', spec, 'r1', settings);
    const broken = { ...model, deployment: { ...model.deployment!, autoscaling_config: { min_replicas: 3, max_replicas: 1, initial_replicas: 2 } } };
    expect(rayValidates(renderSingleAppBody(renderManagedApplication('argus_llm_app', [broken]), [])).ok).toBe(false);
  });
});
