import { admitModelActivity, releaseModelActivity } from './admission';
import { applyModelToClusterActivity } from './applyModelToCluster';
import type { ActivityDependencies } from './dependencies';
import { observeClusterActivity } from './observeCluster';
import { repairClusterActivity } from './repairCluster';
import { finishLayoutMigrationActivity, stageLayoutMigrationActivity, watchMigratedAppsActivity } from './layoutMigration';
import { waitForRemovalActivity, watchReadinessActivity } from './readiness';
import { recordModelEventActivity } from './recordModelEvent';

export type { ActivityDependencies } from './dependencies';

/** Every activity of the model workflow, bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    recordModelEvent: recordModelEventActivity(deps),
    admitModel: admitModelActivity(deps),
    releaseModel: releaseModelActivity(deps),
    applyModelToCluster: applyModelToClusterActivity(deps),
    watchReadiness: watchReadinessActivity(deps),
    waitForRemoval: waitForRemovalActivity(deps),
    stageLayoutMigration: stageLayoutMigrationActivity(deps),
    watchMigratedApps: watchMigratedAppsActivity(deps),
    finishLayoutMigration: finishLayoutMigrationActivity(deps),
    observeCluster: observeClusterActivity(deps),
    repairCluster: repairClusterActivity(deps),
  };
}

export type ModelActivities = ReturnType<typeof createActivities>;
