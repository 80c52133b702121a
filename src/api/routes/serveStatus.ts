import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../../domain/apiError';
import type { ServeDetails } from '../../ray/serveStatus';
import { requireAdmin } from '../auth';
import type { ServeClusterStatusBody } from '../contract/responseSchemas';
import type { ServeStatusCache } from '../serveStatusCache';

// Proxies are outside the model-facing status schema; read only what the summary shows.
const proxiesSchema = z.record(z.string(), z.looseObject({ status: z.string() })).catch({});

/** `serve.status()` in brief: proxy health per node, then every app (ours and others') with its deployments. */
export function summarizeServe(details: ServeDetails): ServeClusterStatusBody {
  const proxies = proxiesSchema.parse((details as { proxies?: unknown }).proxies ?? {});
  return {
    proxies: Object.fromEntries(Object.entries(proxies).map(([node, proxy]) => [node, proxy.status])),
    applications: Object.fromEntries(
      Object.values(details.applications).map((app) => [
        app.name,
        {
          status: app.status,
          message: app.message,
          deployments: Object.fromEntries(
            Object.values(app.deployments).map((d) => [d.name, { status: d.status, message: d.message, replicas: d.replicas.map((r) => r.state) }]),
          ),
        },
      ]),
    ),
  };
}

/** `GET /api/v2/serve/status`: admin only. */
export function serveStatusRoutes(deps: { serveStatus: ServeStatusCache }): Router {
  const router = Router();
  router.get('/status', requireAdmin, async (_req, res) => {
    const details = await deps.serveStatus.get();
    if (details instanceof Error) throw new ApiError(503, 'ray_unavailable', `Ray dashboard not reachable: ${details.message}`);
    res.json(summarizeServe(details));
  });
  return router;
}
