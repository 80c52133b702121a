import express, { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { ApiError } from '../domain/apiError';
import { logger } from '../observability/logger';
import { RayDashboardClient } from '../ray/dashboardClient';
import { authenticate } from './auth';
import { errorHandler } from './errorHandler';
import { buildOpenApiDocument } from './contract/openapiDocument';
import { methodNotAllowed } from './methodNotAllowed';
import { ModelCommands } from './modelCommands';
import { perTokenRateLimit } from './rateLimit';
import { adminRoutes } from './routes/admin';
import { consoleRoutes } from './routes/console';
import { docsRoutes } from './routes/docs';
import { meRoutes } from './routes/me';
import { modelRoutes } from './routes/models';
import { serveStatusRoutes } from './routes/serveStatus';
import { ServeStatusCache } from './serveStatusCache';
import { SpecPlatformSource } from './specPlatform';
import { type ApiMetrics, createApiMetrics } from '../observability/metrics/apiMetrics';
import { httpSpans } from '../observability/tracing';
import { Admission } from './admission';
import { TokenCache } from './tokenCache';
import { BODY_LIMIT_BYTES, YAML_TYPES } from './specBody';

export interface ApiDependencies {
  config: AppConfig;
  pool: Pool;
  temporal: Client;
  adminToken: string;
  /** The API's metrics (created here unless main serves them on their own port). */
  metrics?: ApiMetrics;
}

/** How long /healthz waits for each dependency. */
const HEALTH_CHECK_TIMEOUT_MS = 2_000;

export function createApp({ config, pool, temporal, adminToken, metrics = createApiMetrics(pool) }: ApiDependencies) {
  const app = express();
  app.disable('x-powered-by');
  // Answers are never cached (Cache-Control: no-store below), so an ETag, a hash of every body,
  // would be work for nothing.
  app.set('etag', false);
  // One log line per request; the logger redacts Authorization and cookies.
  app.use(
    pinoHttp({
      logger,
      autoLogging: { ignore: (req) => req.url === '/healthz' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    }),
  );
  // One document serves the docs routes, names the routes metrics count under and tells the 405 handler which methods each path has.
  const document = buildOpenApiDocument();
  const routeTemplates = [...Object.keys(document.paths ?? {}), '/metrics', '/api/v2/openapi.json', '/api/v2/docs'];
  app.use(metrics.middleware(routeTemplates));
  app.use(httpSpans(routeTemplates));
  if (config.api.metrics_port === null) {
    // No token: Prometheus scrapes it. With api.metrics_port set it is served on that port instead.
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  // Security headers on every answer (CSP, nosniff, frame and referrer policies, HSTS).
  app.use(helmet());
  // Answers carry tokens and live state: never cached by a browser or a proxy.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  const dashboard = new RayDashboardClient(config.serving.ray_dashboard_url, 3_000);
  const serveStatus = new ServeStatusCache(dashboard);
  const platform = new SpecPlatformSource(config, dashboard);
  const admission = new Admission(pool, config);
  const commands = new ModelCommands(pool, temporal, config);

  app.use(express.json({ limit: BODY_LIMIT_BYTES, type: ['application/json'] }));
  app.use(express.text({ limit: BODY_LIMIT_BYTES, type: YAML_TYPES }));

  app.get('/healthz', async (_req, res) => {
    // Bounded, so a dead dependency makes the check answer 503 quickly instead of hanging on retries.
    const deadline = Date.now() + HEALTH_CHECK_TIMEOUT_MS;
    const checks = await Promise.allSettled([
      pool.query('SELECT 1'),
      temporal.withDeadline(deadline, () => temporal.connection.workflowService.getSystemInfo({})),
    ]);
    const [db, tmp] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : `unavailable: ${(c.reason as Error).message}`));
    const healthy = db === 'ok' && tmp === 'ok';
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', postgres: db, temporal: tmp });
  });

  const tokenCache = new TokenCache(config.api.token_cache_ttl_s * 1000);
  const auth = [authenticate(pool, adminToken, tokenCache), perTokenRateLimit(config.api.rate_limit_per_minute)];
  app.use('/api/v2', docsRoutes(document));
  // The admin status route comes before the models router so a request is authenticated once.
  app.use('/api/v2/serve', auth, serveStatusRoutes({ serveStatus, pool, config, platform }), modelRoutes({ pool, commands, config, serveStatus, platform, admission }));
  // Mounted on its own prefix so an unknown /api/v2 path is a 404, not an admin-only 403.
  app.use('/api/v2/users', auth, adminRoutes({ pool, tokenCache, admission }));
  app.use('/api/v2/me', auth, meRoutes());
  // The console for model owners: a page of the public API's own, under /console.
  app.use('/console', consoleRoutes({ openaiBaseUrl: config.serving.openai_base_url }));
  app.get('/', (_req, res) => res.redirect('/console/'));

  app.use(methodNotAllowed(document.paths ?? {}));
  app.use((req: Request, _res: Response, next: NextFunction) => next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler);
  return app;
}
