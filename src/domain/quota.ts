import { forbidden } from './apiError';

/** A user's limits as they apply (their own, else the configured default); null is no limit. */
export interface Quota {
  max_gpus: number | null;
  max_models: number | null;
}

/**
 * Refuses a request that would take the user past a limit, naming the quota, what the user's
 * other models hold and what the request asks for.
 */
export function checkQuota(userId: string, quota: Quota, others: { gpus: number; models: number }, request: { gpus: number }): void {
  const overGpus = quota.max_gpus !== null && others.gpus + request.gpus > quota.max_gpus;
  const overModels = quota.max_models !== null && others.models + 1 > quota.max_models;
  if (!overGpus && !overModels) return;
  const limit = [
    quota.max_gpus !== null ? `${quota.max_gpus} GPUs` : null,
    quota.max_models !== null ? `${quota.max_models} model${quota.max_models === 1 ? '' : 's'}` : null,
  ]
    .filter(Boolean)
    .join(' and ');
  const why = overGpus
    ? `it needs ${request.gpus} GPU${request.gpus === 1 ? '' : 's'} and ${userId}'s other models hold ${others.gpus} of ${quota.max_gpus}`
    : `${userId} already has ${others.models} model${others.models === 1 ? '' : 's'} of ${quota.max_models}`;
  throw forbidden('quota_exceeded', `quota exceeded: ${why} (quota: ${limit}; a model reserves max replicas x gpus_per_replica). Delete or scale down a model, or ask an admin for more.`);
}
