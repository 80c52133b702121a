import type { Pool, PoolClient } from 'pg';

/**
 * Serialises every write to one cluster's Serve config with a session-level advisory lock, so
 * two models deploying at once never PUT views that drop each other. The callback runs while
 * the lock is held and receives the connection holding it.
 */
export async function withClusterLock<T>(pool: Pool, clusterId: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('argus-cluster:' || $1))", [clusterId]);
    try {
      return await work(client);
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext('argus-cluster:' || $1))", [clusterId]);
    }
  } finally {
    client.release();
  }
}

/** Sets (or, with null, removes) one model's entry in the cluster's desired set. */
export async function setClusterModel(db: Pool | PoolClient, clusterId: string, modelKey: string, llmConfig: object | null): Promise<void> {
  if (llmConfig === null) {
    await db.query('DELETE FROM cluster_models WHERE cluster_id = $1 AND model_key = $2', [clusterId, modelKey]);
  } else {
    await db.query(
      `INSERT INTO cluster_models (cluster_id, model_key, llm_config) VALUES ($1, $2, $3)
       ON CONFLICT (cluster_id, model_key) DO UPDATE SET llm_config = EXCLUDED.llm_config, updated_at = now()`,
      [clusterId, modelKey, JSON.stringify(llmConfig)],
    );
  }
}

/** The whole desired set, in a stable order so identical sets render identical PUT bodies. */
export async function listClusterModels(db: Pool | PoolClient, clusterId: string): Promise<Array<{ modelKey: string; llmConfig: Record<string, unknown> }>> {
  const result = await db.query<{ model_key: string; llm_config: Record<string, unknown> }>(
    'SELECT model_key, llm_config FROM cluster_models WHERE cluster_id = $1 ORDER BY model_key',
    [clusterId],
  );
  return result.rows.map((r) => ({ modelKey: r.model_key, llmConfig: r.llm_config }));
}
