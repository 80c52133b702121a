import type { Pool } from 'pg';
import type { Queryable } from './models';

/** A user's limits; null is no limit. */
export interface QuotaLimits {
  max_gpus: number | null;
  max_models: number | null;
}

export interface Usage {
  gpus: number;
  models: number;
}

/**
 * A model's reservation computed from its stored spec, as gpuReservation.ts does: every replica
 * it may run (max_replicas when autoscaled) times its GPUs. Every model not deleted counts,
 * a FAILED one too, until its owner deletes it.
 */
const RESERVED_GPUS_SQL = `coalesce((m.spec->'autoscaling'->>'max_replicas')::int, (m.spec->>'num_replicas')::int) * (m.spec->>'gpus_per_replica')::int`;

export async function readQuota(db: Queryable, userId: string): Promise<QuotaLimits | null> {
  const result = await db.query<QuotaLimits>({ name: 'read-quota', text: 'SELECT max_gpus, max_models FROM user_quotas WHERE user_id = $1', values: [userId] });
  return result.rows[0] ?? null;
}

export async function writeQuota(db: Queryable, userId: string, limits: QuotaLimits): Promise<void> {
  await db.query(
    `INSERT INTO user_quotas (user_id, max_gpus, max_models) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET max_gpus = EXCLUDED.max_gpus, max_models = EXCLUDED.max_models, updated_at = now()`,
    [userId, limits.max_gpus, limits.max_models],
  );
}

/** What a user's models hold, leaving out the model a request changes (named by key or by suffix). */
export async function usageOf(db: Queryable, userId: string, excluding: { modelKey?: string; suffix?: string } = {}): Promise<Usage> {
  const result = await db.query<{ gpus: string | null; models: string }>({
    name: 'usage-of-user',
    text: `SELECT sum(${RESERVED_GPUS_SQL}) AS gpus, count(*) AS models FROM models m
            WHERE m.user_id = $1 AND m.deleted_at IS NULL AND m.state <> 'DELETED'
              AND m.model_key IS DISTINCT FROM $2 AND m.model_id_suffix IS DISTINCT FROM $3`,
    values: [userId, excluding.modelKey ?? null, excluding.suffix ?? null],
  });
  const row = result.rows[0];
  return { gpus: Number(row?.gpus ?? 0), models: Number(row?.models ?? 0) };
}

/** Every user's usage with their quota row (if any), for the admin's view. */
export async function usageByUser(pool: Pool): Promise<Array<{ userId: string; usage: Usage; quota: QuotaLimits | null }>> {
  const result = await pool.query<{ user_id: string; gpus: string | null; models: string; max_gpus: number | null; max_models: number | null; has_quota: boolean }>(
    `SELECT u.user_id, sum(${RESERVED_GPUS_SQL}) AS gpus, count(m.model_key) AS models,
            q.max_gpus, q.max_models, q.user_id IS NOT NULL AS has_quota
       FROM users u
       LEFT JOIN models m ON m.user_id = u.user_id AND m.deleted_at IS NULL AND m.state <> 'DELETED'
       LEFT JOIN user_quotas q ON q.user_id = u.user_id
      GROUP BY u.user_id, q.user_id, q.max_gpus, q.max_models
      ORDER BY u.user_id`,
  );
  return result.rows.map((r) => ({
    userId: r.user_id,
    usage: { gpus: Number(r.gpus ?? 0), models: Number(r.models) },
    quota: r.has_quota ? { max_gpus: r.max_gpus, max_models: r.max_models } : null,
  }));
}

