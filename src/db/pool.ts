import { Pool } from 'pg';
import { logger } from '../observability/logger';

/**
 * One pool per process; statement timeouts keep a stuck database from hanging requests.
 * An idle connection that dies (Postgres restarted) makes the pool emit 'error'; unheard, that
 * event would end the process, so it is logged and the pool opens a new connection next time.
 */
export function createPool(databaseUrl: string, max = 10): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, statement_timeout: 10_000, connectionTimeoutMillis: 5_000 });
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle database connection lost; it will be replaced'));
  return pool;
}
