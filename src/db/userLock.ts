import type { Pool } from 'pg';
import { unavailable } from '../domain/apiError';

/** The advisory lock namespace of per-user admission (the second key is the user id's hash). */
const USER_ADMISSION_LOCK = 0x5155_4f54; // "QUOT"

/**
 * Runs `fn` while holding a per-user lock, so one user's concurrent requests are admitted one at
 * a time: each sees the usage the previous one left (a quota cannot be passed by racing it).
 * The lock is tried, not waited for, so a queue of requests never holds every pooled connection
 * while the one holding the lock needs another.
 */
export async function withUserLock<T>(pool: Pool, userId: string, deadlineMs: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    const client = await pool.connect();
    let locked = false;
    let broken: Error | undefined;
    try {
      locked = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [USER_ADMISSION_LOCK, userId])).rows[0]?.ok === true;
      if (locked) return await fn();
    } finally {
      if (locked) {
        // A connection that cannot unlock is dropped: its session, and the lock with it, ends.
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [USER_ADMISSION_LOCK, userId]).catch((err: Error) => {
          broken = err;
        });
      }
      client.release(broken);
    }
    if (Date.now() > deadlineMs) throw unavailable(`other requests of ${userId} are being admitted; nothing was changed, retry shortly`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, 10 * 2 ** Math.min(attempt, 4)) + Math.random() * 10));
  }
}
