import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { readQuota, usageOf } from '../db/quotas';
import { withUserLock } from '../db/userLock';
import { unprocessable } from '../domain/apiError';
import { reservedGpus } from '../domain/gpuReservation';
import { checkQuota, type Quota } from '../domain/quota';
import type { ServingSpec, SpecPlatform } from '../domain/servingSpec';

/** How long a request may wait for the user's other requests to be admitted. */
const ADMISSION_DEADLINE_MS = 15_000;

/** The model a request changes: by key (PATCH) or by the suffix a POST upserts. */
export type ChangedModel = { modelKey: string } | { suffix: string };

/**
 * What a request must pass before it reaches a model's workflow: a model that can never fit the
 * cluster is refused (422), and one that would take its user past their quota (403). A user's
 * requests are admitted one at a time, so racing requests cannot pass a quota together.
 */
export class Admission {
  constructor(
    private readonly pool: Pool,
    private readonly config: AppConfig,
  ) {}

  async quotaOf(userId: string): Promise<Quota & { source: 'user' | 'default' }> {
    const own = await readQuota(this.pool, userId);
    if (own) return { ...own, source: 'user' };
    const defaults = this.config.serving.quotas;
    return { max_gpus: defaults.default_max_gpus, max_models: defaults.default_max_models, source: 'default' };
  }

  async admit<T>(userId: string, changed: ChangedModel, spec: ServingSpec, platform: SpecPlatform, send: () => Promise<T>): Promise<T> {
    checkFitsCluster(spec, platform);
    const quota = await this.quotaOf(userId);
    if (quota.max_gpus === null && quota.max_models === null) return send();
    return withUserLock(this.pool, userId, Date.now() + ADMISSION_DEADLINE_MS, async () => {
      const others = await usageOf(this.pool, userId, changed);
      checkQuota(userId, quota, others, { gpus: reservedGpus(spec) });
      return send();
    });
  }
}

/**
 * A model whose replicas together need more GPUs of its accelerator type than the whole cluster
 * has can never run: refused at once rather than left waiting in line forever.
 */
export function checkFitsCluster(spec: ServingSpec, platform: SpecPlatform): void {
  if (!platform.nodesKnown) return; // while Ray cannot be read, nothing is refused for its size
  const type = spec.accelerator_type ?? platform.acceleratorTypes[0] ?? null;
  const total = type !== null && platform.acceleratorGpus ? (platform.acceleratorGpus[type] ?? 0) : platform.nodeGpus.reduce((sum, gpus) => sum + gpus, 0);
  const needed = reservedGpus(spec);
  if (needed <= total) return;
  const replicas = spec.autoscaling ? `max_replicas ${spec.autoscaling.max_replicas}` : `num_replicas ${spec.num_replicas}`;
  const nodes = `${platform.nodeGpus.length} node${platform.nodeGpus.length === 1 ? '' : 's'} with ${platform.nodeGpus.join(', ')} GPUs`;
  throw unprocessable(
    'exceeds_cluster',
    `the model needs ${needed} ${type === null ? '' : `${type} `}GPUs (${replicas} x gpus_per_replica ${spec.gpus_per_replica}) and the whole cluster has ${total} (${nodes})`,
    { field: spec.autoscaling ? 'autoscaling.max_replicas' : 'num_replicas' },
  );
}
