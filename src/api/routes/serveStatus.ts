import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { listClusterEvents, readClusterObservation } from '../../db/observations';
import { ApiError } from '../../domain/apiError';
import type { ServeDetails } from '../../ray/serveStatus';
import { requireAdmin } from '../auth';
import type { ServeClusterStatusBody } from '../contract/responseSchemas';
import type { ServeStatusCache } from '../serveStatusCache';
import { isoUtc } from '../servingModelView';

// Proxies are outside the model-facing status schema; read only what the summary shows.
const proxiesSchema = z.record(z.string(), z.looseObject({ status: z.string() })).catch({});

/** `serve.status()` in brief: proxy health per node, then every app (ours and others') with its deployments. */
export function summarizeServe(details: ServeDetails): Omit<ServeClusterStatusBody, 'reconciler'> {
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

/** What the cluster's reconciler last saw, and the repairs it made to the cluster itself. */
async function reconcilerView(pool: Pool, clusterId: string): Promise<ServeClusterStatusBody['reconciler']> {
  const [observation, events] = await Promise.all([readClusterObservation(pool, clusterId), listClusterEvents(pool, clusterId)]);
  return {
    observed_at: observation ? isoUtc(observation.observedAt) : null,
    reachable: observation?.reachable ?? null,
    message: observation?.message ?? '',
    recent_repairs: events.map((e) => ({ event_type: e.eventType, created_at: isoUtc(e.createdAt), payload: e.payload })),
  };
}

/** `GET /api/v2/serve/status`: admin only. */
export function serveStatusRoutes(deps: { serveStatus: ServeStatusCache; pool: Pool; clusterId: string }): Router {
  const router = Router();
  router.get('/status', requireAdmin, async (_req, res) => {
    const details = await deps.serveStatus.get();
    if (details instanceof Error) throw new ApiError(503, 'ray_unavailable', `Ray dashboard not reachable: ${details.message}`);
    const body: ServeClusterStatusBody = { reconciler: await reconcilerView(deps.pool, deps.clusterId), ...summarizeServe(details) };
    res.json(body);
  });
  return router;
}
