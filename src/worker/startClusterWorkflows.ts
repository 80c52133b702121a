import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { AppConfig } from '../config/config';
import { clusterReconcilerWorkflow, clusterReconcilerWorkflowId } from '../workflows/clusterReconcilerWorkflow';
import { layoutMigrationWorkflow, layoutMigrationWorkflowId } from '../workflows/layoutMigrationWorkflow';

/**
 * Starts the cluster's own workflows, once per worker start (a run already going is joined, not
 * doubled): the layout migration, which ends at once with nothing left in the single-app layout,
 * and the reconciler, which runs for as long as the cluster does.
 */
export async function startClusterWorkflows(config: AppConfig): Promise<void> {
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const common = { taskQueue: config.temporal.task_queue, workflowIdConflictPolicy: 'USE_EXISTING', workflowIdReusePolicy: 'ALLOW_DUPLICATE' } as const;
    await client.workflow.start(layoutMigrationWorkflow, {
      ...common,
      workflowId: layoutMigrationWorkflowId(config.serving.cluster_id),
      args: [{ readinessTimeoutS: config.serving.readiness_timeout_s }],
      staticSummary: 'move models of the single-app layout to apps of their own',
    });
    if (config.serving.reconcile.interval_s > 0) await startReconciler(client, config, common);
  } finally {
    await connection.close();
  }
}

async function startReconciler(client: Client, config: AppConfig, common: { taskQueue: string; workflowIdConflictPolicy: 'USE_EXISTING'; workflowIdReusePolicy: 'ALLOW_DUPLICATE' }) {
  const reconcile = config.serving.reconcile;
  try {
    await client.workflow.start(clusterReconcilerWorkflow, {
      ...common,
      workflowId: clusterReconcilerWorkflowId(config.serving.cluster_id),
      args: [
        {
          clusterId: config.serving.cluster_id,
          intervalS: reconcile.interval_s,
          policy: { replicaGraceS: reconcile.replica_grace_s, remindAfterS: reconcile.remind_after_s },
        },
      ],
      staticSummary: `keep cluster ${config.serving.cluster_id} serving what its models ask for`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
