import type { ClusterEntryConfig } from '../ray/clusterLayout';
import type { Pool, PoolClient } from 'pg';
import type { EventType, ModelState } from '../domain/lifecycle';
import type { ServingSpec } from '../domain/servingSpec';

export interface ModelRow {
  modelKey: string;
  userId: string;
  suffix: string;
  prefix: string;
  state: ModelState;
  revision: number;
  spec: ServingSpec;
  errorSummary: string | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  /** What the cluster's reconciler last saw of the model (null: not judged, e.g. while it deploys). */
  observed: ObservedReplicas | null;
  /** Its place in line while it waits for the cluster's GPUs (null: not waiting). */
  admission?: { position: number; reason: string } | null;
}

export interface ObservedReplicas {
  running: number;
  target: number;
  health: string;
  /** When it was last seen served as asked (the last pass, while it is). */
  lastHealthyAt: Date | null;
}

export interface EventRow {
  seq: number;
  eventType: EventType;
  payload: Record<string, unknown>;
  createdAt: Date;
}

interface DbModelRow {
  model_key: string;
  user_id: string;
  model_id_suffix: string;
  model_id_prefix: string;
  state: ModelState;
  revision: number;
  spec: ServingSpec;
  error_summary: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  observed_running?: number | null;
  observed_target?: number | null;
  observed_health?: string | null;
  last_healthy_at?: Date | null;
  admission_reason?: string | null;
  admission_position?: string | null;
}

const toModel = (r: DbModelRow): ModelRow => ({
  modelKey: r.model_key,
  userId: r.user_id,
  suffix: r.model_id_suffix,
  prefix: r.model_id_prefix,
  state: r.state,
  revision: r.revision,
  spec: r.spec,
  errorSummary: r.error_summary,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  deletedAt: r.deleted_at,
  observed:
    r.observed_health !== null && r.observed_health !== undefined
      ? { running: r.observed_running ?? 0, target: r.observed_target ?? 0, health: r.observed_health, lastHealthyAt: r.last_healthy_at ?? null }
      : null,
  admission: r.admission_position ? { position: Number(r.admission_position), reason: r.admission_reason ?? 'waiting for GPUs' } : null,
});

export type Queryable = Pool | PoolClient;

/**
 * The columns a ModelRow reads, named rather than `*`, so the named (prepared) statements below
 * keep their result type when a migration adds a column.
 */
const MODEL_COLUMNS =
  'm.model_key, m.user_id, m.model_id_suffix, m.model_id_prefix, m.state, m.revision, m.spec, m.error_summary, m.created_at, m.updated_at, m.deleted_at, ' +
  "o.running_replicas AS observed_running, o.target_replicas AS observed_target, o.health AS observed_health, " +
  "CASE WHEN o.health = 'healthy' THEN co.observed_at ELSE o.last_healthy_at END AS last_healthy_at, " +
  // Its place in line while it waits for GPUs: 1 + the models of its type waiting since before it.
  'ad.reason AS admission_reason, ' +
  'CASE WHEN ad.model_key IS NULL THEN NULL ELSE (SELECT count(*) + 1 FROM admissions w ' +
  'WHERE w.cluster_id = ad.cluster_id AND w.accelerator = ad.accelerator AND w.waiting_since < ad.waiting_since) END AS admission_position';
/** The models table with what the reconciler last saw of each and its place in line (m, o, co and ad in MODEL_COLUMNS). */
const MODELS_OBSERVED =
  'models m LEFT JOIN model_observations o ON o.model_key = m.model_key LEFT JOIN cluster_observations co ON co.cluster_id = o.cluster_id ' +
  'LEFT JOIN admissions ad ON ad.model_key = m.model_key AND ad.waiting_since IS NOT NULL';

export async function findLiveModelBySuffix(db: Queryable, userId: string, suffix: string): Promise<ModelRow | null> {
  const result = await db.query<DbModelRow>(
    'SELECT * FROM models WHERE user_id = $1 AND model_id_suffix = $2 AND deleted_at IS NULL',
    [userId, suffix],
  );
  return result.rows[0] ? toModel(result.rows[0]) : null;
}

/** Creates the row for a new model; false when the suffix was taken meanwhile. */
export async function insertModel(
  db: Queryable,
  row: { modelKey: string; userId: string; suffix: string; prefix: string; spec: ServingSpec; createdAt: Date },
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO models (model_key, user_id, model_id_suffix, model_id_prefix, state, revision, spec, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'QUEUED', 0, $5, $6, $6)
     ON CONFLICT DO NOTHING`,
    [row.modelKey, row.userId, row.suffix, row.prefix, JSON.stringify(row.spec), row.createdAt],
  );
  return result.rowCount === 1;
}

/** Removes a row whose workflow could not be started, so the suffix is not left dangling. */
export async function deleteUnstartedModel(db: Queryable, modelKey: string): Promise<void> {
  await db.query('DELETE FROM models WHERE model_key = $1 AND last_event_seq = 0', [modelKey]);
}

// The API's reads run as named statements: PostgreSQL parses and plans each once per connection
// instead of on every request (docs/benchmarks.md, F3).
export async function getModel(db: Queryable, modelKey: string): Promise<ModelRow | null> {
  const result = await db.query<DbModelRow>({ name: 'get-model', text: `SELECT ${MODEL_COLUMNS} FROM ${MODELS_OBSERVED} WHERE m.model_key = $1`, values: [modelKey] });
  return result.rows[0] ? toModel(result.rows[0]) : null;
}

/** A user's models that are not deleted, oldest first. */
export async function listModels(db: Queryable, userId: string): Promise<ModelRow[]> {
  const result = await db.query<DbModelRow>({
    name: 'list-models',
    text: `SELECT ${MODEL_COLUMNS} FROM ${MODELS_OBSERVED} WHERE m.user_id = $1 AND m.deleted_at IS NULL ORDER BY m.created_at, m.model_key`,
    values: [userId],
  });
  return result.rows.map(toModel);
}

export async function listEvents(db: Queryable, modelKey: string): Promise<EventRow[]> {
  const result = await db.query<{ seq: number; event_type: EventType; payload: Record<string, unknown>; created_at: Date }>({
    name: 'list-events',
    text: 'SELECT seq, event_type, payload, created_at FROM model_events WHERE model_key = $1 ORDER BY seq',
    values: [modelKey],
  });
  return result.rows.map((r) => ({ seq: r.seq, eventType: r.event_type, payload: r.payload, createdAt: r.created_at }));
}

/**
 * A model and its events in one round trip (the detail route): the events come as one JSON array
 * built by PostgreSQL, oldest first. Null when there is no such model.
 */
export async function getModelWithEvents(
  db: Queryable,
  modelKey: string,
  clusterId?: string,
): Promise<{ model: ModelRow; events: EventRow[]; clusterEntry?: ClusterEntryConfig | null } | null> {
  const result = await db.query<
    DbModelRow & { events: Array<{ seq: number; event_type: EventType; payload: Record<string, unknown>; created_at: string }>; cluster_entry: ClusterEntryConfig | null }
  >({
    name: 'get-model-with-events',
    text: `SELECT ${MODEL_COLUMNS},
                  (SELECT coalesce(json_agg(json_build_object('seq', e.seq, 'event_type', e.event_type, 'payload', e.payload, 'created_at', e.created_at) ORDER BY e.seq), '[]')
                     FROM model_events e WHERE e.model_key = m.model_key) AS events,
                  (SELECT c.model_config FROM cluster_models c WHERE c.cluster_id = $2 AND c.model_key = m.model_key) AS cluster_entry
             FROM ${MODELS_OBSERVED} WHERE m.model_key = $1`,
    values: [modelKey, clusterId ?? null],
  });
  const row = result.rows[0];
  if (!row) return null;
  return {
    model: toModel(row),
    events: row.events.map((e) => ({ seq: e.seq, eventType: e.event_type, payload: e.payload, createdAt: new Date(e.created_at) })),
    // With a cluster, the model's entry in its desired set comes in the same read (where its apps are).
    ...(clusterId !== undefined ? { clusterEntry: row.cluster_entry } : {}),
  };
}

/** The part of a model's state the workflow owns; written with every event. */
export interface ModelProjection {
  state: ModelState;
  revision: number;
  spec: ServingSpec;
  errorSummary: string | null;
}

/**
 * Records one event and moves the model's row to the projection that came with it, in one
 * statement. `seq` comes from the workflow, so a retried call inserts nothing twice, and a
 * late retry of an older event never moves the row backwards.
 */
export async function recordEvent(
  pool: Pool,
  event: { modelKey: string; seq: number; eventType: EventType; payload: Record<string, unknown> },
  projection: ModelProjection,
): Promise<boolean> {
  // One statement, so one round trip and atomic without a transaction: the event and the row it
  // implies land together or not at all, and a replayed write changes nothing.
  const result = await pool.query(
    `WITH recorded AS (
       INSERT INTO model_events (model_key, seq, event_type, payload) VALUES ($1, $2, $7, $8)
       ON CONFLICT (model_key, seq) DO NOTHING
     )
     UPDATE models
        SET state = $3, revision = $4, spec = $5, error_summary = $6, last_event_seq = $2, updated_at = now(),
            deleted_at = CASE WHEN $3 = 'DELETED' THEN now() ELSE deleted_at END
      WHERE model_key = $1 AND last_event_seq < $2`,
    [
      event.modelKey,
      event.seq,
      projection.state,
      projection.revision,
      JSON.stringify(projection.spec),
      projection.errorSummary,
      event.eventType,
      JSON.stringify(event.payload),
    ],
  );
  // The row moves only for an event newer than its last: false for a write replayed by a retry.
  return result.rowCount === 1;
}
