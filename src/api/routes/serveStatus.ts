import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { acceleratorTypesOf, type AppConfig } from '../../config/config';
import { listClusterEvents, readClusterObservation } from '../../db/observations';
import { admissionTotals } from '../../db/admissions';
import { usageByUser } from '../../db/quotas';
import { ApiError } from '../../domain/apiError';
import { gpusByAccelerator } from '../../ray/clusterNodes';
import type { ServeDetails } from '../../ray/serveStatus';
import { requireAdmin } from '../auth';
import type { ServeClusterStatusBody } from '../contract/responseSchemas';
import type { ServeStatusCache } from '../serveStatusCache';
import type { SpecPlatformSource } from '../specPlatform';
import { isoUtc } from '../servingModelView';

// Proxies are outside the model-facing status schema; read only what the summary shows.
const proxiesSchema = z.record(z.string(), z.looseObject({ status: z.string() })).catch({});

/** `serve.status()` in brief: proxy health per node, then every app (ours and others') with its deployments. */
export function summarizeServe(details: ServeDetails): Omit<ServeClusterStatusBody, 'reconciler' | 'capacity'> {
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

/** GPUs per node and accelerator type, what models reserve of them, and each user's usage against their quota. */
async function capacityView(pool: Pool, platform: SpecPlatformSource, config: AppConfig): Promise<ServeClusterStatusBody['capacity']> {
  const defaultType = config.serving.llm.accelerator_type;
  const [nodes, admissions, users] = await Promise.all([platform.nodes(), admissionTotals(pool, config.serving.cluster_id), usageByUser(pool)]);
  const reserved = admissions.held;
  const capacity = gpusByAccelerator(nodes ?? [], defaultType);
  const types = [...new Set([...acceleratorTypesOf(config), ...Object.keys(capacity), ...Object.keys(reserved)])].sort();
  return {
    nodes: nodes === null ? null : nodes.map((n) => ({ node_id: n.nodeId, is_head: n.isHead, gpus: n.gpus, accelerator_types: n.acceleratorTypes })),
    accelerators: Object.fromEntries(
      types.map((type) => {
        const total = nodes === null ? null : (capacity[type] ?? 0);
        const held = reserved[type] ?? 0;
        return [type, { capacity: total, reserved: held, free: total === null ? null : total - held }];
      }),
    ),
    queue: admissions.waiting.map((w, i) => ({ position: i + 1, model_key: w.modelKey, accelerator: w.accelerator, wanted_gpus: w.wanted, held_gpus: w.held, waiting_since: isoUtc(w.waitingSince) })),
    users: users.map((u) => {
      const quota = u.quota ?? { max_gpus: config.serving.quotas.default_max_gpus, max_models: config.serving.quotas.default_max_models };
      return { user_id: u.userId, gpus: u.usage.gpus, models: u.usage.models, ...quota, quota_source: u.quota ? ('user' as const) : ('default' as const) };
    }),
  };
}

/** `GET /api/v2/serve/status`: admin only. */
export function serveStatusRoutes(deps: { serveStatus: ServeStatusCache; pool: Pool; config: AppConfig; platform: SpecPlatformSource }): Router {
  const router = Router();
  router.get('/status', requireAdmin, async (_req, res) => {
    const details = await deps.serveStatus.get();
    if (details instanceof Error) throw new ApiError(503, 'ray_unavailable', `Ray dashboard not reachable: ${details.message}`);
    const [reconciler, capacity] = await Promise.all([reconcilerView(deps.pool, deps.config.serving.cluster_id), capacityView(deps.pool, deps.platform, deps.config)]);
    const body: ServeClusterStatusBody = { reconciler, capacity, ...summarizeServe(details) };
    res.json(body);
  });
  return router;
}
