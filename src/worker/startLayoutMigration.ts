import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../config/config';
import { layoutMigrationWorkflow, layoutMigrationWorkflowId } from '../workflows/layoutMigrationWorkflow';

/**
 * Starts the cluster's layout migration, once per worker start (a run already going is joined,
 * not doubled); with nothing left in the single-app layout it ends at once.
 */
export async function startLayoutMigration(config: AppConfig): Promise<void> {
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    await client.workflow.start(layoutMigrationWorkflow, {
      workflowId: layoutMigrationWorkflowId(config.serving.cluster_id),
      taskQueue: config.temporal.task_queue,
      args: [{ readinessTimeoutS: config.serving.readiness_timeout_s }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: 'move models of the single-app layout to apps of their own',
    });
  } finally {
    await connection.close();
  }
}
