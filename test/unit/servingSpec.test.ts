import { parseSpecYaml, specToYaml, validateServingSpec } from '../../src/domain/servingSpec';
import { apiErrorOf } from '../support/apiErrorOf';

const rules = { userId: 'alice', allowStandInKnobs: false };

describe('ServingSpec', () => {
  it('applies defaults and expands $HOME macros', () => {
    const spec = validateServingSpec(parseSpecYaml('model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/Qwen/q\n'), rules);
    expect(spec).toEqual({
      model_id_suffix: 'qwen-0.5b',
      model_source: '/private/hf/Qwen/q',
      num_replicas: 1,
      gpus_per_replica: 1,
      engine_kwargs: {},
      readiness_timeout_s: null,
    });
    expect(specToYaml(spec)).toBe('model_id: qwen-0.5b\nmodel_source: /private/hf/Qwen/q\nnum_replicas: 1\ngpus_per_replica: 1\n');
  });

  it('keeps allowlisted engine_kwargs', () => {
    const spec = validateServingSpec({ model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { max_model_len: 8192, gpu_memory_utilization: 0.9 } }, rules);
    expect(spec.engine_kwargs).toEqual({ max_model_len: 8192, gpu_memory_utilization: 0.9 });
  });

  it.each([
    ['missing model_id', { model_source: '/private/hf/m' }, 400, /model_id/],
    ['missing model_source', { model_id: 'm' }, 400, /model_source/],
    ['unknown field', { model_id: 'm', model_source: '/private/hf/m', gpu_type: 'H100' }, 400, /unknown field.*gpu_type/],
    ['string replicas', { model_id: 'm', model_source: '/private/hf/m', num_replicas: 'two' }, 400, /num_replicas/],
    ['zero replicas', { model_id: 'm', model_source: '/private/hf/m', num_replicas: 0 }, 422, /num_replicas must be a whole number from 1/],
    ['negative gpus', { model_id: 'm', model_source: '/private/hf/m', gpus_per_replica: -1 }, 422, /gpus_per_replica/],
    ['fractional gpus', { model_id: 'm', model_source: '/private/hf/m', gpus_per_replica: 1.5 }, 422, /gpus_per_replica/],
    ['too many gpus', { model_id: 'm', model_source: '/private/hf/m', gpus_per_replica: 9 }, 422, /gpus_per_replica/],
    ['trust_remote_code', { model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { trust_remote_code: true } }, 400, /trust_remote_code is not allowed: runs code/],
    ['download_dir', { model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { download_dir: '/tmp' } }, 400, /download_dir is not allowed/],
    ['unknown kwarg', { model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { foo: 1 } }, 400, /engine_kwargs.foo is not an allowed/],
    ['bad kwarg value', { model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { gpu_memory_utilization: 2 } }, 400, /gpu_memory_utilization/],
    ['stand-in knob without stand-in', { model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { standin_load_delay_s: 1 } }, 400, /standin_load_delay_s/],
    ['bad suffix', { model_id: 'a b', model_source: '/private/hf/m' }, 400, /model_id/],
    ['other user dir', { model_id: 'm', model_source: '/private/users/bob/m' }, 403, /outside the allowed roots/],
    ['short deadline', { model_id: 'm', model_source: '/private/hf/m', readiness_timeout_s: 5 }, 422, /readiness_timeout_s/],
    ['list document', ['model_id'], 400, /mapping/],
  ])('refuses %s', (_name, doc, status, message) => {
    const err = apiErrorOf(() => validateServingSpec(doc, rules));
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
  });

  it('accepts stand-in knobs only where the stand-in is configured', () => {
    const spec = validateServingSpec({ model_id: 'm', model_source: '/private/hf/m', engine_kwargs: { standin_load_delay_s: 2 } }, { ...rules, allowStandInKnobs: true });
    expect(spec.engine_kwargs).toEqual({ standin_load_delay_s: 2 });
  });

  describe('YAML safety', () => {
    it('refuses custom tags', () => expect(apiErrorOf(() => parseSpecYaml('model_id: !!js/function "x"')).code).toBe('invalid_yaml'));
    it('refuses duplicate keys', () => expect(apiErrorOf(() => parseSpecYaml('model_id: a\nmodel_id: b\n')).code).toBe('invalid_yaml'));
    it('refuses syntax errors with the reason', () => expect(apiErrorOf(() => parseSpecYaml('model_id: [unclosed')).message).toMatch(/^invalid YAML: /));
    it('bounds alias expansion (billion laughs)', () => {
      const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
      expect(apiErrorOf(() => parseSpecYaml(lines.join('\n'))).code).toBe('invalid_yaml');
    });
  });
});
