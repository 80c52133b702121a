export { modelWorkflow } from './modelWorkflow';
export { layoutMigrationWorkflow } from './layoutMigrationWorkflow';
