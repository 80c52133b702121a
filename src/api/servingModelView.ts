import type { ModelRow } from '../db/models';
import { publicModelId } from '../domain/naming';
import { parallelismOf, replicaFloor } from '../domain/servingSpecTypes';
import type { ServingModelBody } from './contract/responseSchemas';

/** ISO-8601 UTC without milliseconds, as in the contract's examples. */
export const isoUtc = (at: Date) => `${at.toISOString().slice(0, 19)}Z`; // YYYY-MM-DDTHH:mm:ss of YYYY-MM-DDTHH:mm:ss.sssZ

/** The ServingModel of contract section 1.2, built from a model row. */
export function toServingModel(row: ModelRow, openaiBaseUrl: string): ServingModelBody {
  const modelId = publicModelId(row.prefix, row.suffix);
  const spec = row.spec;
  const serving = row.state === 'RUNNING' || row.state === 'DEGRADED';
  const running = row.observed && serving ? row.observed.running : null;
  const autoscaling = spec.autoscaling ?? null;
  // An autoscaled model's target is the autoscaler's, which only the reconciler sees.
  const target = autoscaling ? (row.observed && serving ? row.observed.target : replicaFloor(spec)) : spec.num_replicas;
  const atZero = autoscaling !== null && running === 0 && target === 0;
  return {
    model_key: row.modelKey,
    user_id: row.userId,
    model_id: modelId,
    model_id_suffix: row.suffix,
    model_id_prefix: row.prefix,
    model_source: spec.model_source,
    model_repo: spec.model_repo ?? null,
    description: spec.description ?? null,
    num_replicas: spec.num_replicas,
    autoscaling,
    gpus_per_replica: spec.gpus_per_replica,
    layout: parallelismOf(spec),
    total_gpus: (autoscaling ? autoscaling.max_replicas : spec.num_replicas) * spec.gpus_per_replica,
    accelerator_type: spec.accelerator_type ?? null,
    resources: spec.resources ?? null,
    env_names: Object.keys(spec.env ?? {}).sort(),
    state: row.state,
    replicas: {
      running,
      target,
      note: atZero ? `scaled to zero after ${autoscaling.idle_timeout_s} s without requests; the next request starts a replica (a cold start)` : null,
    },
    last_healthy_at: row.observed?.lastHealthyAt ? isoUtc(row.observed.lastHealthyAt) : null,
    admission: row.admission ?? null,
    endpoint: { openai_base_url: openaiBaseUrl, model: modelId },
    error_summary: row.errorSummary,
    created_at: isoUtc(row.createdAt),
    updated_at: isoUtc(row.updatedAt),
  };
}
