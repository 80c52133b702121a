import type { Pool, PoolClient } from 'pg';
import type { DesiredModel, ObservedHealth } from '../ray/clusterDrift';

type Queryable = Pool | PoolClient;

/**
 * Every entry of a cluster's desired set as the reconciler compares it with Ray: names and
 * replica targets drawn out of the stored configs by PostgreSQL, so a pass at thousands of
 * models moves a few hundred kilobytes, not every rendered config.
 */
export async function listDesiredModels(db: Queryable, clusterId: string): Promise<DesiredModel[]> {
  const result = await db.query<{
    model_key: string;
    state: string;
    pending: boolean;
    layout: string | null;
    migrating: boolean;
    model_id: string | null;
    routed_app: string | null;
    apps: Array<{ app_name: string; deployment: string | null; replicas: number | null }>;
    applied_apps: string[];
  }>({
    name: 'list-desired-models',
    text: `SELECT c.model_key, m.state, c.generation > c.settled_generation AS pending,
                  c.model_config->>'layout' AS layout, coalesce(c.model_config ? 'migrating_from', false) AS migrating,
                  c.model_config->>'model_id' AS model_id, c.model_config->>'routed_app' AS routed_app,
                  (SELECT coalesce(jsonb_agg(jsonb_build_object('app_name', a->>'app_name', 'deployment', a->'deployment'->>'name',
                                                                'replicas', a->'deployment'->'autoscaling_config'->'min_replicas')), '[]'::jsonb)
                     FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.model_config->'apps') = 'array' THEN c.model_config->'apps' ELSE '[]'::jsonb END) a) AS apps,
                  (SELECT coalesce(jsonb_agg(a->>'app_name'), '[]'::jsonb)
                     FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.applied_config->'apps') = 'array' THEN c.applied_config->'apps' ELSE '[]'::jsonb END) a) AS applied_apps
             FROM cluster_models c JOIN models m ON m.model_key = c.model_key
            WHERE c.cluster_id = $1
            ORDER BY c.model_key`,
    values: [clusterId],
  });
  return result.rows.map((r) => {
    const routed = r.apps.find((a) => a.app_name === r.routed_app);
    const placement = r.layout === 'app-per-model' && !r.migrating;
    return {
      modelKey: r.model_key,
      modelId: r.model_id ?? '',
      state: r.state,
      pending: r.pending,
      // A removal waiting for its PUT has no config left: it is pending, so not judged.
      placement: placement || (r.layout === null && r.pending),
      routedApp: routed ? routed.app_name : null,
      deploymentName: routed?.deployment ?? null,
      targetReplicas: routed?.replicas ?? 0,
      knownApps: [...new Set([...r.apps.map((a) => a.app_name), ...r.applied_apps])],
    };
  });
}

/** What the model's workflow was last told about it. */
export type ReportedHealth = 'healthy' | 'degraded' | 'missing';

export interface StoredObservation {
  modelKey: string;
  health: ObservedHealth;
  running: number;
  target: number;
  message: string;
  since: Date;
  lastHealthyAt: Date | null;
  reported: ReportedHealth | null;
  reportedAt: Date | null;
}

export async function listObservations(db: Queryable, clusterId: string): Promise<StoredObservation[]> {
  const result = await db.query<{
    model_key: string;
    health: ObservedHealth;
    running_replicas: number;
    target_replicas: number;
    message: string;
    since: Date;
    last_healthy_at: Date | null;
    reported: ReportedHealth | null;
    reported_at: Date | null;
  }>({
    name: 'list-observations',
    text: `SELECT model_key, health, running_replicas, target_replicas, message, since, last_healthy_at, reported, reported_at
             FROM model_observations WHERE cluster_id = $1`,
    values: [clusterId],
  });
  return result.rows.map((r) => ({
    modelKey: r.model_key,
    health: r.health,
    running: r.running_replicas,
    target: r.target_replicas,
    message: r.message,
    since: r.since,
    lastHealthyAt: r.last_healthy_at,
    reported: r.reported,
    reportedAt: r.reported_at,
  }));
}

/** Writes the observations that changed, in one statement, and drops those of models no longer judged. */
export async function saveObservations(db: Queryable, clusterId: string, changed: StoredObservation[], judged: string[]): Promise<void> {
  if (changed.length > 0) {
    await db.query(
      `INSERT INTO model_observations (model_key, cluster_id, health, running_replicas, target_replicas, message, since, last_healthy_at, reported, reported_at)
       SELECT k, $1, h, r, t, m, s, l, rep, rat
         FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::timestamptz[])
              AS o(k, h, r, t, m, s, l, rep, rat)
       ON CONFLICT (model_key) DO UPDATE SET cluster_id = EXCLUDED.cluster_id, health = EXCLUDED.health,
              running_replicas = EXCLUDED.running_replicas, target_replicas = EXCLUDED.target_replicas, message = EXCLUDED.message,
              since = EXCLUDED.since, last_healthy_at = EXCLUDED.last_healthy_at, reported = EXCLUDED.reported, reported_at = EXCLUDED.reported_at`,
      [
        clusterId,
        changed.map((o) => o.modelKey),
        changed.map((o) => o.health),
        changed.map((o) => o.running),
        changed.map((o) => o.target),
        changed.map((o) => o.message),
        changed.map((o) => o.since),
        changed.map((o) => o.lastHealthyAt),
        changed.map((o) => o.reported),
        changed.map((o) => o.reportedAt),
      ],
    );
  }
  await db.query('DELETE FROM model_observations WHERE cluster_id = $1 AND NOT (model_key = ANY($2::text[]))', [clusterId, judged]);
}

export interface ClusterObservation {
  observedAt: Date;
  reachable: boolean;
  message: string;
}

export async function readClusterObservation(db: Queryable, clusterId: string): Promise<ClusterObservation | null> {
  const result = await db.query<{ observed_at: Date; reachable: boolean; message: string }>(
    'SELECT observed_at, reachable, message FROM cluster_observations WHERE cluster_id = $1',
    [clusterId],
  );
  const row = result.rows[0];
  return row ? { observedAt: row.observed_at, reachable: row.reachable, message: row.message } : null;
}

export async function saveClusterObservation(db: Queryable, clusterId: string, observation: ClusterObservation): Promise<void> {
  await db.query(
    `INSERT INTO cluster_observations (cluster_id, observed_at, reachable, message) VALUES ($1, $2, $3, $4)
     ON CONFLICT (cluster_id) DO UPDATE SET observed_at = EXCLUDED.observed_at, reachable = EXCLUDED.reachable, message = EXCLUDED.message`,
    [clusterId, observation.observedAt, observation.reachable, observation.message],
  );
}

export async function recordClusterEvent(db: Queryable, clusterId: string, eventType: string, payload: Record<string, unknown>): Promise<void> {
  await db.query('INSERT INTO cluster_events (cluster_id, event_type, payload) VALUES ($1, $2, $3)', [clusterId, eventType, JSON.stringify(payload)]);
}

export async function listClusterEvents(db: Queryable, clusterId: string, limit = 20): Promise<Array<{ eventType: string; payload: Record<string, unknown>; createdAt: Date }>> {
  const result = await db.query<{ event_type: string; payload: Record<string, unknown>; created_at: Date }>(
    'SELECT event_type, payload, created_at FROM cluster_events WHERE cluster_id = $1 ORDER BY id DESC LIMIT $2',
    [clusterId, limit],
  );
  return result.rows.map((r) => ({ eventType: r.event_type, payload: r.payload, createdAt: r.created_at }));
}
