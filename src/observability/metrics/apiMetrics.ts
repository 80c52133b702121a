import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MODEL_STATES } from '../../domain/lifecycle';
import { routeTemplateMatcher } from '../routeTemplates';
import { rayRegistry } from './rayMetrics';

/** Users shown by name in argus_models_by_user; the rest are summed as user_id="other" (bounded cardinality). */
export const TOP_USERS = 20;

/**
 * The API's metrics: HTTP requests by route, and the models by state (and by user) read from
 * Postgres when Prometheus scrapes, so every API replica reports the same numbers.
 */
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createApiMetrics(pool: Pool) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'argus_http_requests_total',
    help: 'HTTP requests answered by the API, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'argus_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [registry],
  });
  new Gauge({
    name: 'argus_models',
    help: 'Models not deleted, by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const rows = (await pool.query<{ state: string; n: string }>("SELECT state, count(*) AS n FROM models WHERE deleted_at IS NULL AND state <> 'DELETED' GROUP BY state")).rows;
      this.reset();
      for (const state of MODEL_STATES) if (state !== 'DELETED') this.set({ state }, Number(rows.find((r) => r.state === state)?.n ?? 0));
    },
  });
  new Gauge({
    name: 'argus_models_by_user',
    help: `Models not deleted, by user and state (the ${TOP_USERS} users with most models by name, the rest as "other")`,
    labelNames: ['user_id', 'state'] as const,
    registers: [registry],
    async collect() {
      const rows = (
        await pool.query<{ user_id: string; state: string; n: string }>(
          `WITH counts AS (SELECT user_id, state, count(*) AS n FROM models WHERE deleted_at IS NULL AND state <> 'DELETED' GROUP BY user_id, state),
                top AS (SELECT user_id FROM counts GROUP BY user_id ORDER BY sum(n) DESC, user_id LIMIT $1)
           SELECT CASE WHEN c.user_id IN (SELECT user_id FROM top) THEN c.user_id ELSE 'other' END AS user_id, c.state, sum(c.n) AS n
             FROM counts c GROUP BY 1, 2`,
          [TOP_USERS],
        )
      ).rows;
      this.reset();
      for (const r of rows) this.set({ user_id: r.user_id, state: r.state }, Number(r.n));
    },
  });

  /**
   * Counts every answer under its route template (`/api/v2/serve/models/{model_key}`, as the
   * OpenAPI document names it), never the raw path: model keys and tokens stay out of the labels.
   */
  function middleware(templates: readonly string[]) {
    const routeOf = routeTemplateMatcher(templates);
    return (req: Request, res: Response, next: NextFunction): void => {
      const started = performance.now();
      res.on('finish', () => {
        const route = routeOf(req.originalUrl.split('?')[0] ?? '');
        requests.inc({ route, method: req.method, status: String(res.statusCode) });
        seconds.observe({ route, method: req.method }, (performance.now() - started) / 1000);
      });
      next();
    };
  }

  return { registry: Registry.merge([registry, rayRegistry]), middleware };
}
