import { NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import type { AppConfig } from '../config/config';
import { logger } from '../observability/logger';
import { RayDashboardClient } from '../ray/dashboardClient';
import { IngressClient } from '../ray/ingressClient';
import { livenessHeartbeats } from './livenessHeartbeats';

/**
 * A pooled connection that breaks while idle (Postgres restarted, network cut) is dropped by the
 * pool, which then emits 'error'; with no listener that would crash the worker. Activities that
 * were using Postgres fail on their own and are retried.
 */
function onIdleConnectionError(err: Error): void {
  logger.warn({ err: err.message }, 'a pooled Postgres connection broke; it is replaced on next use');
}

/** Wires the model workflow and its activities to a task queue; nothing else happens here. */
export async function createWorker(config: AppConfig, pool: Pool, connection: NativeConnection, options: { pollIntervalMs?: number } = {}): Promise<Worker> {
  if (!pool.listeners('error').includes(onIdleConnectionError)) pool.on('error', onIdleConnectionError);
  const activities = createActivities({
    pool,
    dashboard: new RayDashboardClient(config.serving.ray_dashboard_url),
    ingress: new IngressClient(config.serving.ingress_url),
    clusterId: config.serving.cluster_id,
    render: {
      appName: config.serving.app_name,
      storageRoot: config.serving.storage_root,
      acceleratorType: config.serving.llm.accelerator_type,
      serverCls: config.serving.llm.server_cls,
    },
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
  });
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.task_queue,
    workflowsPath: require.resolve('../workflows'),
    activities,
    interceptors: { activity: [livenessHeartbeats] },
  });
}
