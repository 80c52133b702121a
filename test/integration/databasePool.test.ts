import { Pool } from 'pg';
import { loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';

/**
 * Has the server end one of the pool's connections, idle in the pool or checked out and idle
 * (a held lock), and checks that the process lives on and the pool serves the next query.
 */
async function survivesTermination(checkedOut: boolean): Promise<void> {
  const url = loadConfig().database.url;
  const pool = createPool(url);
  const admin = new Pool({ connectionString: url, max: 1 });
  const crashes: unknown[] = [];
  const onUncaught = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const client = await pool.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    if (!checkedOut) client.release(); // now idle in the pool
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await new Promise((r) => setTimeout(r, 300));
    if (checkedOut) client.release(true); // the holder finds out on its next query and gives the connection up
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    expect(crashes).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
    await Promise.all([pool.end(), admin.end()]);
  }
}

describe('database pool', () => {
  it('survives the server ending an idle connection (as a Postgres restart does)', () => survivesTermination(false));
  it('survives the server ending a connection that is checked out but idle (a held lock)', () => survivesTermination(true));
});
