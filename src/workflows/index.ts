export { modelWorkflow } from './modelWorkflow';
