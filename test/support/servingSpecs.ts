import type { ServingSpec } from '../../src/domain/servingSpec';

/** A valid ServingSpec for the demo checkpoint `make dev` and the tests seed; override what a test varies. */
export const testSpec = (suffix: string, extra: Partial<ServingSpec> = {}): ServingSpec => ({
  model_id_suffix: suffix,
  model_source: '/private/hf/demo/tiny-chat',
  num_replicas: 1,
  gpus_per_replica: 1,
  engine_kwargs: {},
  readiness_timeout_s: null,
  ...extra,
});
