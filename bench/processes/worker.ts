/**
 * The product worker alone in its own process, wired exactly as src/worker/main.ts wires it,
 * so its memory can be measured and it can be killed and restarted. Prints `ready` once the
 * workflow bundle is built and it starts polling.
 */
import { createWriteStream } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import { createWorker } from '../../src/worker/createWorker';
import { startClusterWorkflows } from '../../src/worker/startClusterWorkflows';
import { quietTemporalRuntime } from '../lib/product';

/** BENCH_GC_LOG=<file>: one line per garbage collection (pid, epoch ms, pause ms, kind), to see what a slow step spends on GC. */
function logGarbageCollections(file: string) {
  const out = createWriteStream(file, { flags: 'a' }); // a restarted worker appends
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) out.write(`${process.pid} ${Math.round(performance.timeOrigin + entry.startTime)} ${entry.duration.toFixed(1)} ${(entry as { detail?: { kind?: number } }).detail?.kind ?? ''}\n`);
  }).observe({ entryTypes: ['gc'] });
}

async function main() {
  if (process.env.BENCH_GC_LOG) logGarbageCollections(process.env.BENCH_GC_LOG);
  quietTemporalRuntime();
  const config = loadConfig();
  const pool = createPool(config.database.url);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker(config, pool, connection);
  process.stdout.write('ready\n');
  const running = worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks finish
  // As src/worker/main.ts: the cluster's layout migration, which ends at once with nothing in the single-app layout.
  await startClusterWorkflows(config).catch((err: Error) => process.stderr.write(`could not start the cluster workflows: ${err.message}\n`));
  await running;
  await Promise.all([pool.end(), connection.close()]);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
