/**
 * The product worker alone in its own process, wired exactly as src/worker/main.ts wires it,
 * so its memory can be measured and it can be killed and restarted. Prints `ready` once the
 * workflow bundle is built and it starts polling.
 */
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import { createWorker } from '../../src/worker/createWorker';
import { quietTemporalRuntime } from '../lib/product';

async function main() {
  quietTemporalRuntime();
  const config = loadConfig();
  const pool = createPool(config.database.url);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker(config, pool, connection);
  process.stdout.write('ready\n');
  await worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks finish
  await Promise.all([pool.end(), connection.close()]);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
