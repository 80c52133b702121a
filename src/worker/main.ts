import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../config/config';
import { createPool } from '../db/pool';
import { logger } from '../observability/logger';
import { createWorker } from './createWorker';
import { serveMetrics } from '../observability/metrics/metricsServer';
import { workerMetricsRegistry } from '../observability/metrics/workerMetrics';
import { startTracing } from '../observability/tracing';
import { startClusterWorkflows } from './startClusterWorkflows';

async function main() {
  const config = loadConfig();
  const tracing = startTracing('argus-worker'); // on when OTEL_EXPORTER_OTLP_ENDPOINT is set
  const pool = createPool(config.database.url);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createWorker(config, pool, connection, { tracing });
  const metrics = config.worker.metrics_port === null ? null : await serveMetrics(workerMetricsRegistry(pool, config.serving.cluster_id), config.worker.metrics_port, 'ARGUS_WORKER_METRICS_PORT');
  logger.info({ taskQueue: config.temporal.task_queue }, 'worker running');
  const running = worker.run(); // returns after SIGINT/SIGTERM once in-flight tasks finish
  // The cluster's own workflows: the layout migration (a cluster left in the previous release's
  // single-app layout is moved) and the reconciler that keeps every model served after RUNNING.
  await startClusterWorkflows(config).catch((err: Error) => logger.error({ err: err.message }, 'could not start the cluster workflows'));
  await running;
  metrics?.close();
  await Promise.all([pool.end(), connection.close(), tracing?.shutdown()]);
}

main().catch((err: Error) => {
  logger.fatal(err.message);
  process.exit(1);
});
