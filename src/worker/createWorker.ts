import { NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import { AppConfig, engineProbesFor } from '../config/config';
import { RayDashboardClient } from '../ray/dashboardClient';
import { IngressClient } from '../ray/ingressClient';
import { livenessHeartbeats } from './livenessHeartbeats';

/** Wires the model workflow and its activities to a task queue; nothing else happens here. */
export async function createWorker(config: AppConfig, pool: Pool, connection: NativeConnection, options: { pollIntervalMs?: number } = {}): Promise<Worker> {
  const activities = createActivities({
    pool,
    dashboard: new RayDashboardClient(config.serving.ray_dashboard_url, 10_000),
    // Each call well inside the readiness watch's 15 s heartbeat timeout.
    ingress: new IngressClient(config.serving.ingress_url, 10_000),
    clusterId: config.serving.cluster_id,
    render: {
      appName: config.serving.app_name,
      storageRoot: config.serving.storage_root,
      acceleratorType: config.serving.llm.accelerator_type,
      serverCls: config.serving.llm.server_cls,
    },
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    engineProbes: engineProbesFor(config),
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
