import type { Pool, PoolClient } from 'pg';
import type { ClusterEntryConfig } from '../ray/clusterLayout';

const LOCK_WAIT_S = 60;

/**
 * Serialises every write to one cluster's Serve config with a session-level advisory lock, so
 * two models deploying at once never PUT views that drop each other. The callback runs while
 * the lock is held and receives the connection holding it.
 */
export async function withClusterLock<T>(pool: Pool, clusterId: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    // Writers queue here while another PUTs (up to Ray's own timeout): wait longer than the
    // pool's statement timeout, but not forever.
    await client.query(`SET statement_timeout = '${LOCK_WAIT_S}s'`);
    await client.query("SELECT pg_advisory_lock(hashtext('argus-cluster:' || $1))", [clusterId]);
    await client.query('RESET statement_timeout');
  } catch (err) {
    client.release(true); // do not hand a connection with a changed timeout back to the pool
    throw err;
  }
  try {
    return await work(client);
  } finally {
    try {
      await client.query("SELECT pg_advisory_unlock(hashtext('argus-cluster:' || $1))", [clusterId]);
      client.release();
    } catch {
      client.release(true); // closing the session releases its lock
    }
  }
}

/** One model's entry in a cluster's desired set, with where its latest change stands. */
export interface ClusterEntry {
  modelKey: string;
  /** What the model should run; null while its removal waits for a PUT. */
  modelConfig: ClusterEntryConfig | null;
  /** What Ray last accepted for this model (null: nothing yet). */
  appliedConfig: ClusterEntryConfig | null;
  generation: number;
  settledGeneration: number;
  rejectedGeneration: number | null;
  rejection: string | null;
}

export const isPending = (entry: Pick<ClusterEntry, 'generation' | 'settledGeneration'>) => entry.generation > entry.settledGeneration;

/**
 * Writes one model's desired entry (null: take it off the cluster) under the next generation,
 * and returns that generation. No lock is needed: whoever PUTs next picks the entry up.
 */
export async function writeClusterEntry(db: Pool | PoolClient, clusterId: string, modelKey: string, modelConfig: ClusterEntryConfig | null): Promise<number> {
  const result = await db.query<{ generation: string }>(
    `INSERT INTO cluster_models (cluster_id, model_key, model_config, generation) VALUES ($1, $2, $3, nextval('cluster_model_generation'))
     ON CONFLICT (cluster_id, model_key) DO UPDATE SET model_config = EXCLUDED.model_config, generation = EXCLUDED.generation, updated_at = now()
     RETURNING generation`,
    [clusterId, modelKey, modelConfig === null ? null : JSON.stringify(modelConfig)],
  );
  return Number(result.rows[0]?.generation);
}

/**
 * Changes one model's desired entry from what it is now, and returns the new generation with the
 * entry before and after. The row is locked for the read and the write, so a model's entry
 * is never written from a stale read (the model's workflow writes it one step at a time; the
 * layout migration may write it too).
 */
export async function updateClusterEntry(
  pool: Pool,
  clusterId: string,
  modelKey: string,
  change: (current: ClusterEntryConfig | null) => ClusterEntryConfig | null,
): Promise<{ generation: number; config: ClusterEntryConfig | null; previous: ClusterEntryConfig | null }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const current = await client.query<{ model_config: ClusterEntryConfig | null }>(
      'SELECT model_config FROM cluster_models WHERE cluster_id = $1 AND model_key = $2 FOR UPDATE',
      [clusterId, modelKey],
    );
    const previous = current.rows[0]?.model_config ?? null;
    const next = change(previous);
    const generation = await writeClusterEntry(client, clusterId, modelKey, next);
    await client.query('COMMIT');
    return { generation, config: next, previous };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** One model's desired entry as it stands (null: none). */
export async function readClusterEntryConfig(db: Pool | PoolClient, clusterId: string, modelKey: string): Promise<ClusterEntryConfig | null> {
  const result = await db.query<{ model_config: ClusterEntryConfig | null }>('SELECT model_config FROM cluster_models WHERE cluster_id = $1 AND model_key = $2', [
    clusterId,
    modelKey,
  ]);
  return result.rows[0]?.model_config ?? null;
}

/** Where one model's latest change stands, without any config: what an apply checks after its flush. */
export async function readEntryProgress(
  db: Pool | PoolClient,
  clusterId: string,
  modelKey: string,
): Promise<Pick<ClusterEntry, 'generation' | 'settledGeneration' | 'rejectedGeneration' | 'rejection'> | null> {
  const result = await db.query<{ generation: string; settled_generation: string; rejected_generation: string | null; rejection: string | null }>(
    'SELECT generation, settled_generation, rejected_generation, rejection FROM cluster_models WHERE cluster_id = $1 AND model_key = $2',
    [clusterId, modelKey],
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    generation: Number(row.generation),
    settledGeneration: Number(row.settled_generation),
    rejectedGeneration: row.rejected_generation === null ? null : Number(row.rejected_generation),
    rejection: row.rejection,
  };
}

/** How many models the cluster's desired set holds (removals still pending excluded). */
export async function countDesiredModels(db: Pool | PoolClient, clusterId: string): Promise<number> {
  const result = await db.query<{ n: string }>('SELECT count(*) AS n FROM cluster_models WHERE cluster_id = $1 AND model_config IS NOT NULL', [clusterId]);
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * A model accepted or started less than this long ago counts as a change on its way to the
 * cluster. An older one is taken as stuck (its workflow not running), so it cannot slow every
 * other deploy's gather for long.
 */
export const ON_THEIR_WAY_WINDOW_S = 30;

/**
 * How many changes are on their way to the cluster, other than `excluding` (the applies already
 * waiting): models accepted (QUEUED) whose workflow has not started their apply, and models whose
 * apply has started (last event APPLY_STARTED) but has not written its entry yet (the moment
 * between the workflow recording the step and the activity running). `among` narrows the count
 * to some models (tests sharing a database with others).
 */
export async function countModelsOnTheirWay(db: Pool | PoolClient, options: { clusterId: string; excluding: string[]; among?: string[] }): Promise<number> {
  const result = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM models m
      WHERE m.state IN ('QUEUED', 'DEPLOYING') AND m.updated_at > now() - make_interval(secs => $1)
        AND NOT (m.model_key = ANY($2::text[])) AND ($3::text[] IS NULL OR m.model_key = ANY($3::text[]))
        AND (m.state = 'QUEUED'
             OR (EXISTS (SELECT 1 FROM model_events e WHERE e.model_key = m.model_key AND e.seq = m.last_event_seq AND e.event_type = 'APPLY_STARTED')
                 AND NOT EXISTS (SELECT 1 FROM cluster_models c WHERE c.cluster_id = $4 AND c.model_key = m.model_key AND c.updated_at >= m.updated_at)))`,
    [ON_THEIR_WAY_WINDOW_S, options.excluding, options.among ?? null, options.clusterId],
  );
  return Number(result.rows[0]?.n ?? 0);
}

/** Every entry of the cluster, in a stable order so identical sets render identical PUT bodies. */
export async function listClusterEntries(db: Pool | PoolClient, clusterId: string): Promise<ClusterEntry[]> {
  const result = await db.query<{
    model_key: string;
    model_config: ClusterEntryConfig | null;
    applied_config: ClusterEntryConfig | null;
    generation: string;
    settled_generation: string;
    rejected_generation: string | null;
    rejection: string | null;
  }>(
    `SELECT model_key, model_config, applied_config, generation, settled_generation, rejected_generation, rejection
       FROM cluster_models WHERE cluster_id = $1 ORDER BY model_key`,
    [clusterId],
  );
  return result.rows.map((r) => ({
    modelKey: r.model_key,
    modelConfig: r.model_config,
    appliedConfig: r.applied_config,
    generation: Number(r.generation),
    settledGeneration: Number(r.settled_generation),
    rejectedGeneration: r.rejected_generation === null ? null : Number(r.rejected_generation),
    rejection: r.rejection,
  }));
}

/** An entry as a flush needs it: its desired config and whether a change is pending. */
export type DesiredEntry = Pick<ClusterEntry, 'modelKey' | 'modelConfig' | 'generation' | 'settledGeneration'>;

/**
 * Every entry's desired config, in a stable order, without the applied baselines (which only a
 * refused batch needs): the one read of every model a flush makes.
 */
export async function listDesiredEntries(db: Pool | PoolClient, clusterId: string): Promise<DesiredEntry[]> {
  const result = await db.query<{ model_key: string; model_config: ClusterEntryConfig | null; generation: string; settled_generation: string }>(
    'SELECT model_key, model_config, generation, settled_generation FROM cluster_models WHERE cluster_id = $1 ORDER BY model_key',
    [clusterId],
  );
  return result.rows.map((r) => ({
    modelKey: r.model_key,
    modelConfig: r.model_config,
    generation: Number(r.generation),
    settledGeneration: Number(r.settled_generation),
  }));
}

/** Whether any entry of the cluster has a change not yet on the cluster (no config is read). */
export async function hasPendingEntries(db: Pool | PoolClient, clusterId: string): Promise<boolean> {
  const result = await db.query('SELECT 1 FROM cluster_models WHERE cluster_id = $1 AND generation > settled_generation LIMIT 1', [clusterId]);
  return result.rows.length > 0;
}

/**
 * Marks entries as landed on the cluster, in one statement: their config becomes the applied
 * baseline and a landed removal drops the entry. An entry rewritten since it was read keeps its
 * newer change pending (the generation must still match).
 */
export async function markEntriesApplied(db: PoolClient, clusterId: string, entries: Pick<ClusterEntry, 'modelKey' | 'modelConfig' | 'generation'>[]): Promise<void> {
  const removed = entries.filter((e) => e.modelConfig === null);
  const landed = entries.filter((e) => e.modelConfig !== null);
  if (removed.length > 0) {
    await db.query(
      `DELETE FROM cluster_models c USING unnest($2::text[], $3::bigint[]) AS r(model_key, generation)
        WHERE c.cluster_id = $1 AND c.model_key = r.model_key AND c.generation = r.generation`,
      [clusterId, removed.map((e) => e.modelKey), removed.map((e) => e.generation)],
    );
  }
  if (landed.length > 0) {
    await db.query(
      `UPDATE cluster_models c SET applied_config = c.model_config, settled_generation = c.generation, updated_at = now()
         FROM unnest($2::text[], $3::bigint[]) AS l(model_key, generation)
        WHERE c.cluster_id = $1 AND c.model_key = l.model_key AND c.generation = l.generation`,
      [clusterId, landed.map((e) => e.modelKey), landed.map((e) => e.generation)],
    );
  }
}

/**
 * Marks an entry's change as refused by Ray: the desired config falls back to what Ray last
 * accepted, so a refused config never blocks the next writer, and the refusal is kept for the
 * apply that wrote it.
 */
export async function markEntryRejected(db: PoolClient, clusterId: string, entry: Pick<ClusterEntry, 'modelKey' | 'generation'>, rejection: string): Promise<void> {
  await db.query(
    `UPDATE cluster_models SET model_config = applied_config, settled_generation = generation, rejected_generation = generation, rejection = $4, updated_at = now()
      WHERE cluster_id = $1 AND model_key = $2 AND generation = $3`,
    [clusterId, entry.modelKey, entry.generation, rejection],
  );
}
