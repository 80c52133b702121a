import { resolvedSpecYaml } from '../../src/api/resolvedSpecYaml';
import { specToYaml, type ServingSpec } from '../../src/domain/servingSpec';

const base: ServingSpec = {
  model_id_suffix: 'tiny',
  model_source: '/private/hf/demo/tiny-chat',
  num_replicas: 1,
  gpus_per_replica: 1,
  engine_kwargs: { max_model_len: 2048 },
  readiness_timeout_s: null,
};

describe('resolved spec YAML', () => {
  it('renders what specToYaml renders, for the first and every later read', () => {
    expect(resolvedSpecYaml(base)).toBe(specToYaml(base));
    expect(resolvedSpecYaml({ ...base })).toBe(specToYaml(base));
  });

  it('renders each changed spec anew, never an earlier spec of the same model', () => {
    const scaled = { ...base, num_replicas: 3 };
    const tuned = { ...base, engine_kwargs: { max_model_len: 4096, enforce_eager: true } };
    const timed = { ...base, readiness_timeout_s: 900 };
    resolvedSpecYaml(base);
    for (const spec of [scaled, tuned, timed]) {
      expect(resolvedSpecYaml(spec)).toBe(specToYaml(spec));
      expect(resolvedSpecYaml(spec)).not.toBe(specToYaml(base));
    }
    expect(resolvedSpecYaml(scaled)).toMatch(/num_replicas: 3/);
    expect(resolvedSpecYaml(tuned)).toMatch(/max_model_len: 4096\n\s+enforce_eager: true/);
  });
});
