import { ModelCommands } from '../../src/api/modelCommands';
import { RayDouble } from './rayDouble';
import { RunningStack, startStack, testConfig } from './stack';

/** A worker against real Temporal and Postgres with Ray replaced by the double, and the API's command side. */
export interface DoubleStack {
  ray: RayDouble;
  stack: RunningStack;
  commands: ModelCommands;
}

/** Starts one for a test file (beforeAll) and stops it after (afterAll); read its parts inside tests. */
export function useDoubleStack(options: { readinessTimeoutS?: number } = {}): DoubleStack {
  const handle = {} as DoubleStack;
  beforeAll(async () => {
    handle.ray = new RayDouble();
    await handle.ray.start();
    handle.stack = await startStack(testConfig({ rayUrl: handle.ray.url, readinessTimeoutS: options.readinessTimeoutS ?? 30 }));
    handle.commands = new ModelCommands(handle.stack.pool, handle.stack.client, handle.stack.config);
  });
  afterAll(async () => {
    await handle.stack?.close();
    await handle.ray?.stop();
  });
  return handle;
}
