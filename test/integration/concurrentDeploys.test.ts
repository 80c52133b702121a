import { ModelCommands } from '../../src/api/modelCommands';
import { getModel } from '../../src/db/models';
import { modelIdsInPut, RayDouble } from '../support/rayDouble';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';
import { testSpec as spec } from '../support/servingSpecs';

/**
 * Many models requested at the same moment, through the real workflow on real Temporal and
 * Postgres (Ray double): the cluster's single writer batches their changes into fewer PUTs
 * than models, no PUT drops a model an earlier one carried, and every model ends RUNNING.
 */
let ray: RayDouble;
let stack: RunningStack;
let commands: ModelCommands;


beforeAll(async () => {
  ray = new RayDouble();
  await ray.start();
  stack = await startStack(testConfig({ rayUrl: ray.url, readinessTimeoutS: 30 }));
  commands = new ModelCommands(stack.pool, stack.client, stack.config);
});
afterAll(async () => {
  await stack?.close();
  await ray?.stop();
});

it('deploys 8 models requested at once with fewer PUTs than models, all RUNNING', async () => {
  const acks = await Promise.all(Array.from({ length: 8 }, (_, i) => commands.deploy(i % 2 ? 'alice' : 'bob', spec(`crowd${i}`))));
  await eventually(async () => {
    const states = await Promise.all(acks.map(async (a) => (await getModel(stack.pool, a.model_key))?.state));
    return states.every((s) => s === 'RUNNING');
  }, 60_000, 'all 8 models RUNNING');
  expect(ray.puts.length).toBeLessThanOrEqual(6); // 3-4 in our runs
  const carried = ray.puts.map((apps) => modelIdsInPut(apps));
  for (let i = 1; i < carried.length; i++) expect(carried[i]).toEqual(expect.arrayContaining(carried[i - 1] ?? []));
  expect(carried[carried.length - 1]).toHaveLength(8);
});
