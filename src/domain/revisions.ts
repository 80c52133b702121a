import type { ServingSpec } from './servingSpec';

const canonicalKwargs = (kwargs: Record<string, unknown>) => JSON.stringify(Object.entries(kwargs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Whether going from `serving` to `next` changes what the engine loads (checkpoint, engine
 * arguments, GPUs per replica), so the new revision must start next to the serving one. A change
 * of replica count or readiness deadline alone is applied in place.
 */
export function redefines(serving: ServingSpec, next: ServingSpec): boolean {
  return (
    serving.model_source !== next.model_source ||
    serving.gpus_per_replica !== next.gpus_per_replica ||
    canonicalKwargs(serving.engine_kwargs) !== canonicalKwargs(next.engine_kwargs)
  );
}
