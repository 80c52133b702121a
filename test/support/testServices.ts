import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import type { AppConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import { ensureUser } from '../../src/db/users';

/** Postgres and a Temporal client for a test whose worker runs elsewhere (another process). */
export interface TestServices {
  pool: Pool;
  client: Client;
  close(): Promise<void>;
}

export async function connectTestServices(config: AppConfig): Promise<TestServices> {
  const pool = createPool(config.database.url);
  // Same clean slate as startStack: each test file starts from empty tables.
  await pool.query('TRUNCATE cluster_models, model_observations, cluster_observations, cluster_events, model_events, models, api_tokens, users CASCADE');
  await ensureUser(pool, 'alice');
  await ensureUser(pool, 'bob');
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    pool,
    client,
    async close() {
      await connection.close();
      await pool.end();
    },
  };
}
