import type { ServingSpec } from './servingSpecTypes';

/**
 * The GPUs a model holds against quotas and the cluster's capacity: every replica it may run
 * (max_replicas when autoscaled) times its GPUs. A model scaled to zero keeps its reservation,
 * so it can always wake up.
 */
export function reservedGpus(spec: Pick<ServingSpec, 'num_replicas' | 'gpus_per_replica' | 'autoscaling'>): number {
  const replicas = spec.autoscaling ? spec.autoscaling.max_replicas : spec.num_replicas;
  return replicas * spec.gpus_per_replica;
}
