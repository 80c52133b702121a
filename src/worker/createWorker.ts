import { NativeConnection, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../activities';
import { AppConfig, engineProbesFor } from '../config/config';
import { RayDashboardClient } from '../ray/dashboardClient';
import { IngressClient } from '../ray/ingressClient';
import { renderSettingsOf } from '../ray/serveConfig';
import { livenessHeartbeats } from './livenessHeartbeats';
import type { Tracing } from '../observability/tracing';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } from '@temporalio/interceptors-opentelemetry/lib/worker';

/** Wires the model workflow and its activities to a task queue; nothing else happens here. */
export async function createWorker(
  config: AppConfig,
  pool: Pool,
  connection: NativeConnection,
  options: { pollIntervalMs?: number; tracing?: Tracing | null } = {},
): Promise<Worker> {
  const activities = createActivities({
    pool,
    dashboard: new RayDashboardClient(config.serving.ray_dashboard_url, 10_000),
    // Each call well inside the readiness watch's 15 s heartbeat timeout.
    ingress: new IngressClient(config.serving.ingress_url, 10_000),
    clusterId: config.serving.cluster_id,
    render: renderSettingsOf(config),
    // A quarter second between status polls once a rollout has lasted a second: a rollout is seen
    // ready soon after Ray says so (at 500 ms, a model Ray had up in 2.5 s was seen at 3.1 s). Each
    // rollout in flight reads the status this often, and reads never overlap, so on a large
    // cluster (150 ms per read at 5,000 models) they space themselves out.
    pollIntervalMs: options.pollIntervalMs ?? 250,
    engineProbes: engineProbesFor(config),
  });
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.task_queue,
    workflowsPath: require.resolve('../workflows'),
    activities,
    // With tracing on, workflows and activities continue the trace of the request that started
    // them; workflow spans leave the sandbox through a sink.
    interceptors: options.tracing
      ? {
          activity: [livenessHeartbeats, (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
          workflowModules: [require.resolve('../workflows/tracingInterceptors')],
        }
      : { activity: [livenessHeartbeats] },
    ...(options.tracing ? { sinks: { exporter: makeWorkflowExporter(options.tracing.processor, options.tracing.resource) } } : {}),
    // After a crash, a workflow's next task waits this long on the dead worker's sticky queue before
    // any worker may take it (the default, 10 s, was most of the crash-recovery time).
    stickyQueueScheduleToStartTimeout: '3 seconds',
    maxCachedWorkflows: config.temporal.max_cached_workflows,
  });
}
