import type { Pool, PoolClient } from 'pg';
import type { ModelConfig } from '../ray/serveConfig';

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
  modelConfig: ModelConfig | null;
  /** What Ray last accepted for this model (null: nothing yet). */
  appliedConfig: ModelConfig | null;
  generation: number;
  settledGeneration: number;
  rejectedGeneration: number | null;
  rejection: string | null;
}

export const isPending = (entry: ClusterEntry) => entry.generation > entry.settledGeneration;

/**
 * Writes one model's desired entry (null: take it off the cluster) under the next generation,
 * and returns that generation. No lock is needed: whoever PUTs next picks the entry up.
 */
export async function writeClusterEntry(db: Pool | PoolClient, clusterId: string, modelKey: string, modelConfig: ModelConfig | null): Promise<number> {
  const result = await db.query<{ generation: string }>(
    `INSERT INTO cluster_models (cluster_id, model_key, model_config, generation) VALUES ($1, $2, $3, nextval('cluster_model_generation'))
     ON CONFLICT (cluster_id, model_key) DO UPDATE SET model_config = EXCLUDED.model_config, generation = EXCLUDED.generation, updated_at = now()
     RETURNING generation`,
    [clusterId, modelKey, modelConfig === null ? null : JSON.stringify(modelConfig)],
  );
  return Number(result.rows[0]?.generation);
}

/** Every entry of the cluster, in a stable order so identical sets render identical PUT bodies. */
export async function listClusterEntries(db: Pool | PoolClient, clusterId: string): Promise<ClusterEntry[]> {
  const result = await db.query<{
    model_key: string;
    model_config: ModelConfig | null;
    applied_config: ModelConfig | null;
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

/**
 * Marks entries as landed on the cluster: their config becomes the applied baseline and a
 * landed removal drops the entry. An entry rewritten since it was read keeps its newer change pending.
 */
export async function markEntriesApplied(db: PoolClient, clusterId: string, entries: ClusterEntry[]): Promise<void> {
  for (const entry of entries) {
    if (entry.modelConfig === null) {
      await db.query('DELETE FROM cluster_models WHERE cluster_id = $1 AND model_key = $2 AND generation = $3', [clusterId, entry.modelKey, entry.generation]);
    } else {
      await db.query(
        `UPDATE cluster_models SET applied_config = model_config, settled_generation = generation, updated_at = now()
          WHERE cluster_id = $1 AND model_key = $2 AND generation = $3`,
        [clusterId, entry.modelKey, entry.generation],
      );
    }
  }
}

/**
 * Marks an entry's change as refused by Ray: the desired config falls back to what Ray last
 * accepted, so a refused config never blocks the next writer, and the refusal is kept for the
 * apply that wrote it.
 */
export async function markEntryRejected(db: PoolClient, clusterId: string, entry: ClusterEntry, rejection: string): Promise<void> {
  await db.query(
    `UPDATE cluster_models SET model_config = applied_config, settled_generation = generation, rejected_generation = generation, rejection = $4, updated_at = now()
      WHERE cluster_id = $1 AND model_key = $2 AND generation = $3`,
    [clusterId, entry.modelKey, entry.generation, rejection],
  );
}
