export { modelWorkflow } from './modelWorkflow';
export { layoutMigrationWorkflow } from './layoutMigrationWorkflow';
export { clusterReconcilerWorkflow } from './clusterReconcilerWorkflow';
