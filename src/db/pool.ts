import { Pool } from 'pg';

/** One pool per process; statement timeouts keep a stuck database from hanging requests. */
export function createPool(databaseUrl: string, max = 10): Pool {
  return new Pool({ connectionString: databaseUrl, max, statement_timeout: 10_000, connectionTimeoutMillis: 5_000 });
}
