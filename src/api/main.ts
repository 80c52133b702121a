import http from 'node:http';
import { loadConfig } from '../config/config';
import { createPool } from '../db/pool';
import { ensureUser } from '../db/users';
import { logger } from '../observability/logger';
import { connectTemporalClient } from '../temporal/client';
import { ADMIN_USER_ID } from './auth';
import { createApp } from './app';
import { createApiMetrics } from '../observability/metrics/apiMetrics';
import { serveMetrics } from '../observability/metrics/metricsServer';
import { startTracing } from '../observability/tracing';
import { listen } from '../net/listen';

async function main() {
  const config = loadConfig();
  const adminToken = process.env.ARGUS_ADMIN_TOKEN;
  if (!adminToken || adminToken.length < 16) throw new Error('ARGUS_ADMIN_TOKEN must be set to a secret of at least 16 characters');
  startTracing('argus-api'); // on when OTEL_EXPORTER_OTLP_ENDPOINT is set
  const pool = createPool(config.database.url);
  await ensureUser(pool, ADMIN_USER_ID, true);
  const temporal = await connectTemporalClient(config);
  const metrics = createApiMetrics(pool);
  const server = http.createServer(createApp({ config, pool, temporal, adminToken, metrics }));
  const port = await listen(server, config.api.port, undefined, 'API_PORT');
  const metricsServer = config.api.metrics_port === null ? null : await serveMetrics(metrics.registry, config.api.metrics_port, 'ARGUS_API_METRICS_PORT');
  logger.info({ port }, 'API listening');
  const stop = () => {
    metricsServer?.close();
    server.close(() => void Promise.all([pool.end(), temporal.connection.close()]).then(() => process.exit(0)));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  logger.fatal(err.message);
  process.exit(1);
});
