import type { Pool } from 'pg';

/** What one look at the line decided for a model. */
export interface AdmissionVerdict {
  admitted: boolean;
  /** GPUs the model asks for beyond what it holds (0 once admitted). */
  missing: number;
  /** GPUs of its accelerator type not held by any model. */
  free: number;
  /** Models of its type waiting since before it. */
  ahead: number;
}

export interface AdmissionRequest {
  clusterId: string;
  modelKey: string;
  accelerator: string;
  /** GPUs the revision reserves. */
  wanted: number;
  /** GPUs of the accelerator type on the cluster. */
  capacity: number;
  /** Take the GPUs whatever the line (a rollback to what already ran there). */
  force: boolean;
}

/** The namespace of the per-cluster lock under which the line moves (the second key is the cluster id's hash). */
const CLUSTER_ADMISSION_LOCK = 0x4144_4d54; // "ADMT"

/**
 * Admits a model to the GPUs of its accelerator type, or puts it in line. Under one lock per
 * cluster, so two models never take the same free GPUs. A model is admitted when what the others
 * hold plus what it wants fits the capacity and nobody of its type waits since before it (first
 * come first served: a later request never overtakes, however small). Asking for no more than it
 * holds (a scale-down, a retry) is admitted at once.
 */
export async function admit(pool: Pool, request: AdmissionRequest): Promise<AdmissionVerdict> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLUSTER_ADMISSION_LOCK, request.clusterId]);
    const own = (
      await client.query<{ held: number; waiting_since: Date | null }>(
        `INSERT INTO admissions (model_key, cluster_id, accelerator, held, wanted) VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (model_key) DO UPDATE SET accelerator = EXCLUDED.accelerator, wanted = EXCLUDED.wanted, updated_at = now()
         RETURNING held, waiting_since`,
        [request.modelKey, request.clusterId, request.accelerator, request.wanted],
      )
    ).rows[0] as { held: number; waiting_since: Date | null };
    const others = (
      await client.query<{ held: string | null; ahead: string }>(
        `SELECT sum(held) AS held,
                count(*) FILTER (WHERE waiting_since IS NOT NULL AND ($3::timestamptz IS NULL OR waiting_since < $3)) AS ahead
           FROM admissions WHERE cluster_id = $1 AND accelerator = $2 AND model_key <> $4`,
        [request.clusterId, request.accelerator, own.waiting_since, request.modelKey],
      )
    ).rows[0];
    const heldByOthers = Number(others?.held ?? 0);
    const ahead = Number(others?.ahead ?? 0);
    const fits = heldByOthers + request.wanted <= request.capacity;
    const admitted = request.force || request.wanted <= own.held || (fits && ahead === 0);
    if (admitted) {
      await client.query('UPDATE admissions SET held = wanted, waiting_since = NULL, reason = NULL, updated_at = now() WHERE model_key = $1', [request.modelKey]);
    } else {
      await client.query('UPDATE admissions SET waiting_since = coalesce(waiting_since, now()), updated_at = now() WHERE model_key = $1', [request.modelKey]);
    }
    await client.query('COMMIT');
    const free = Math.max(0, request.capacity - heldByOthers - (admitted ? request.wanted : own.held));
    return { admitted, missing: admitted ? 0 : request.wanted - own.held, free, ahead: admitted ? 0 : ahead };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Why the model waits, in words, for its owner to read. */
export async function noteWaitingReason(pool: Pool, modelKey: string, reason: string): Promise<void> {
  await pool.query('UPDATE admissions SET reason = $2 WHERE model_key = $1 AND waiting_since IS NOT NULL', [modelKey, reason]);
}

/** A model off the cluster holds nothing and waits for nothing. */
export async function releaseAdmission(pool: Pool, modelKey: string): Promise<void> {
  await pool.query('DELETE FROM admissions WHERE model_key = $1', [modelKey]);
}

/** GPUs held per accelerator type, and the line of each. */
export async function admissionTotals(pool: Pool, clusterId: string): Promise<{ held: Record<string, number>; waiting: Array<{ modelKey: string; accelerator: string; wanted: number; held: number; waitingSince: Date }> }> {
  const [held, waiting] = await Promise.all([
    pool.query<{ accelerator: string; held: string }>('SELECT accelerator, sum(held) AS held FROM admissions WHERE cluster_id = $1 GROUP BY accelerator', [clusterId]),
    pool.query<{ model_key: string; accelerator: string; wanted: number; held: number; waiting_since: Date }>(
      'SELECT model_key, accelerator, wanted, held, waiting_since FROM admissions WHERE cluster_id = $1 AND waiting_since IS NOT NULL ORDER BY waiting_since, model_key',
      [clusterId],
    ),
  ]);
  return {
    held: Object.fromEntries(held.rows.map((r) => [r.accelerator, Number(r.held)])),
    waiting: waiting.rows.map((r) => ({ modelKey: r.model_key, accelerator: r.accelerator, wanted: r.wanted, held: r.held, waitingSince: r.waiting_since })),
  };
}
