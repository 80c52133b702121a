import { log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { ModelActivities } from '../activities';

const { stageLayoutMigration, finishLayoutMigration } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const { watchMigratedApps } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds' },
});

export interface LayoutMigrationInput {
  /** How long the models' new apps may take to come up, seconds (the platform's readiness deadline). */
  readinessTimeoutS: number;
}

/** One run per cluster; the worker starts it on start-up, and a run that finds nothing to move ends at once. */
export const layoutMigrationWorkflowId = (clusterId: string) => `layout-migration-${clusterId}`;

/**
 * Moves a cluster left in the single-app layout of the previous release to one app per model,
 * blue/green: each model first gets an app of its own beside the old app, which keeps serving;
 * once they are up, the ingress takes the old app's name and route and the old app is gone.
 */
export async function layoutMigrationWorkflow(input: LayoutMigrationInput): Promise<{ migrated: number; failed: Array<{ modelKey: string; reason: string }> }> {
  const staged = await stageLayoutMigration.executeWithOptions({ summary: 'give every model of the single app an app of its own' }, []);
  if (staged.length === 0) return { migrated: 0, failed: [] };
  setCurrentDetails(`**migrating** ${staged.length} model(s) from the single app to apps of their own; the single app serves until they are up`);
  const watched = await watchMigratedApps.executeWithOptions({ summary: `wait for ${staged.length} model app(s) to be up` }, [
    { models: staged, deadlineMs: Date.now() + input.readinessTimeoutS * 1000 },
  ]);
  // A model whose own app did not come up is reported; the old app cannot stay beside the ingress (both take route "/").
  for (const failure of watched.failed) log.warn('a migrated model did not come up in its own app', failure);
  await finishLayoutMigration.executeWithOptions({ summary: 'replace the single app by the ingress' }, []);
  setCurrentDetails(`**migrated** ${watched.ready.length} model(s); ${watched.failed.length} did not come up`);
  return { migrated: watched.ready.length, failed: watched.failed };
}
