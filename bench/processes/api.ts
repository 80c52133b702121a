/**
 * The product API alone in its own process, configured from the environment exactly as
 * src/api/main.ts is, on an ephemeral port it prints as `listening <port>`.
 */
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import { connectTemporalClient } from '../../src/temporal/client';

async function main() {
  const config = loadConfig();
  const pool = createPool(config.database.url);
  const temporal = await connectTemporalClient(config);
  const server = createApp({ config, pool, temporal, adminToken: process.env.ARGUS_ADMIN_TOKEN as string }).listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => void Promise.all([pool.end(), temporal.connection.close()]).then(() => process.exit(0))));
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
