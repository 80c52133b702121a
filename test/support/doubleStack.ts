import { ModelCommands } from '../../src/api/modelCommands';
import type { AppConfig } from '../../src/config/config';
import { startClusterWorkflows } from '../../src/worker/startClusterWorkflows';
import { clusterReconcilerWorkflowId } from '../../src/workflows/clusterReconcilerWorkflow';
import { RayDouble } from './rayDouble';
import { RunningStack, startStack, testConfig } from './stack';

/** A worker against real Temporal and Postgres with Ray replaced by the double, and the API's command side. */
export interface DoubleStack {
  ray: RayDouble;
  stack: RunningStack;
  commands: ModelCommands;
}

/**
 * Starts one for a test file (beforeAll) and stops it after (afterAll); read its parts inside
 * tests. With `reconcile`, the cluster's reconciler runs too, with those settings (off otherwise,
 * so tests of rollouts see no repairs they did not ask for).
 */
export function useDoubleStack(options: { readinessTimeoutS?: number; reconcile?: AppConfig['serving']['reconcile'] } = {}): DoubleStack {
  const handle = {} as DoubleStack;
  beforeAll(async () => {
    handle.ray = new RayDouble();
    await handle.ray.start();
    const config = testConfig({ rayUrl: handle.ray.url, readinessTimeoutS: options.readinessTimeoutS ?? 30 });
    if (options.reconcile) config.serving.reconcile = options.reconcile;
    handle.stack = await startStack(config);
    handle.commands = new ModelCommands(handle.stack.pool, handle.stack.client, handle.stack.config);
    if (options.reconcile) await startClusterWorkflows(config);
  });
  afterAll(async () => {
    if (options.reconcile && handle.stack) {
      await handle.stack.client.workflow.getHandle(clusterReconcilerWorkflowId(handle.stack.config.serving.cluster_id)).terminate('test over').catch(() => undefined);
    }
    await handle.stack?.close();
    await handle.ray?.stop();
  });
  return handle;
}
