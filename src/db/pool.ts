import { Pool } from 'pg';
import { logger } from '../observability/logger';

/**
 * One pool per process; statement timeouts keep a stuck database from hanging requests.
 * A connection that dies (Postgres restarted, network cut) makes `pg` emit 'error': on the pool
 * for an idle connection, on the client itself for one that is checked out (a held lock, say).
 * Unheard, either would end the process; both are logged, the work that used the connection fails
 * on its own (and is retried), and the pool opens a new connection next time.
 */
export function createPool(databaseUrl: string, max = 10): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, statement_timeout: 10_000, connectionTimeoutMillis: 5_000 });
  const lost = (err: Error) => logger.warn({ err: err.message }, 'database connection lost; it will be replaced');
  pool.on('error', lost);
  pool.on('connect', (client) => client.on('error', lost));
  return pool;
}
