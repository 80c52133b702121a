import type { Pool } from 'pg';
import type { ModelSnapshot } from '../../src/workflows/modelEntity';
import { modelIdPrefix, newModelKey, publicModelId } from '../../src/domain/naming';
import { ServingSpec, validateServingSpec } from '../../src/domain/servingSpec';
import { ModelPlacement, nextPlacement } from '../../src/ray/modelPlacement';
import { RenderSettings } from '../../src/ray/serveConfig';

export interface SeededModel {
  modelKey: string;
  userId: string;
  modelId: string;
  spec: ServingSpec;
  /** The model's own app, as its first rollout (marker r1) would have placed it. */
  placement: ModelPlacement;
  /** The model as its workflow holds it after a first deploy that reached RUNNING. */
  snapshot: ModelSnapshot;
}

/** The events a first deploy that reached RUNNING leaves, in order. */
const EVENTS = ['DEPLOY_REQUESTED', 'APPLY_STARTED', 'APPLY_SUCCEEDED', 'RUNNING'] as const;

/**
 * Writes RUNNING models straight into the database, as their workflows would have left them
 * (rows, events, and optionally the cluster's desired set). Used where a benchmark needs many
 * existing models and the way they got there is not what it measures.
 */
export async function seedRunningModels(
  pool: Pool,
  options: { userIds: readonly string[]; modelsPerUser: number; render: RenderSettings; clusterId: string | null },
): Promise<SeededModel[]> {
  const now = new Date();
  const taken = new Set<string>();
  const models: SeededModel[] = [];
  for (const userId of options.userIds) {
    for (let i = 0; i < options.modelsPerUser; i++) {
      let modelKey = newModelKey(userId, now);
      while (taken.has(modelKey)) modelKey = newModelKey(userId, now);
      taken.add(modelKey);
      const suffix = `seeded-${i}`;
      const spec = validateServingSpec({ model_id: suffix, model_source: '/private/hf/demo/tiny-chat', engine_kwargs: { max_model_len: 2048 } }, { userId, allowStandInKnobs: true });
      const modelId = publicModelId(modelIdPrefix(userId, now), suffix);
      const revision = { revision: 1, spec, kind: 'deploy' as const };
      models.push({
        modelKey,
        userId,
        modelId,
        spec,
        placement: nextPlacement(null, 'replace', { modelKey, modelId, spec, marker: 'r1' }, options.render),
        snapshot: { modelKey, modelId, userId, seq: EVENTS.length, state: 'RUNNING', latest: revision, handledRevision: 1, lastGood: revision, errorSummary: null, deleteRequested: false },
      });
    }
  }
  for (let start = 0; start < models.length; start += 1000) {
    const batch = models.slice(start, start + 1000);
    await pool.query(
      `INSERT INTO models (model_key, user_id, model_id_suffix, model_id_prefix, state, revision, spec, last_event_seq, created_at, updated_at)
       SELECT k, u, s, p, 'RUNNING', 1, spec, $5, $6, $6 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $7::jsonb[]) AS t(k, u, s, p, spec)`,
      [batch.map((m) => m.modelKey), batch.map((m) => m.userId), batch.map((m) => m.spec.model_id_suffix), batch.map((m) => modelIdPrefix(m.userId, now)), EVENTS.length, now, batch.map((m) => JSON.stringify(m.spec))],
    );
    for (const [index, eventType] of EVENTS.entries()) {
      await pool.query(
        `INSERT INTO model_events (model_key, seq, event_type, payload, created_at) SELECT k, $2, $3, payload, $4 FROM unnest($1::text[], $5::jsonb[]) AS t(k, payload)`,
        [batch.map((m) => m.modelKey), index + 1, eventType, now, batch.map((m) => JSON.stringify(eventType === 'DEPLOY_REQUESTED' ? { revision: 1, spec: m.spec } : { revision: 1 }))],
      );
    }
    if (options.clusterId) {
      await pool.query(
        // Seeded as already applied: what should run is what Ray accepted (generations 0, settled).
        `INSERT INTO cluster_models (cluster_id, model_key, model_config, applied_config) SELECT $1, k, c, c FROM unnest($2::text[], $3::jsonb[]) AS t(k, c)`,
        [options.clusterId, batch.map((m) => m.modelKey), batch.map((m) => JSON.stringify(m.placement))],
      );
    }
  }
  return models;
}
