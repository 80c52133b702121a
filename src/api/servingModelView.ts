import type { ModelRow } from '../db/models';
import { publicModelId } from '../domain/naming';
import type { ServingModelBody } from './contract/responseSchemas';

/** ISO-8601 UTC without milliseconds, as in the contract's examples. */
export const isoUtc = (at: Date) => `${at.toISOString().slice(0, 19)}Z`; // YYYY-MM-DDTHH:mm:ss of YYYY-MM-DDTHH:mm:ss.sssZ

/** The ServingModel of contract section 1.2, built from a model row. */
export function toServingModel(row: ModelRow, openaiBaseUrl: string): ServingModelBody {
  const modelId = publicModelId(row.prefix, row.suffix);
  return {
    model_key: row.modelKey,
    user_id: row.userId,
    model_id: modelId,
    model_id_suffix: row.suffix,
    model_id_prefix: row.prefix,
    model_source: row.spec.model_source,
    num_replicas: row.spec.num_replicas,
    gpus_per_replica: row.spec.gpus_per_replica,
    total_gpus: row.spec.num_replicas * row.spec.gpus_per_replica,
    state: row.state,
    replicas: { running: row.observed && (row.state === 'RUNNING' || row.state === 'DEGRADED') ? row.observed.running : null, target: row.spec.num_replicas },
    last_healthy_at: row.observed?.lastHealthyAt ? isoUtc(row.observed.lastHealthyAt) : null,
    endpoint: { openai_base_url: openaiBaseUrl, model: modelId },
    error_summary: row.errorSummary,
    created_at: isoUtc(row.createdAt),
    updated_at: isoUtc(row.updatedAt),
  };
}
