import { getModel, insertModel } from '../../src/db/models';
import { modelIdPrefix, newModelKey } from '../../src/domain/naming';
import { useDoubleStack } from '../support/doubleStack';
import { testSpec as spec } from '../support/servingSpecs';
import { eventually } from '../support/stack';

/**
 * A model is listed from the moment its POST inserts the row, a few milliseconds before
 * update-with-start creates its workflow. A DELETE or PATCH sent in that moment (the soak found
 * one) must reach the workflow once it exists, not be told the model was deleted.
 */
const env = useDoubleStack();

it('a delete sent between the row insert and the workflow start waits for the workflow and lands', async () => {
  const now = new Date();
  const row = { modelKey: newModelKey('alice', now), userId: 'alice', suffix: 'qwen-0.5b', prefix: modelIdPrefix('alice', now), spec: spec('qwen-0.5b'), createdAt: now };
  expect(await insertModel(env.stack.pool, row)).toBe(true);
  const deleting = env.commands.delete(row.modelKey);
  await new Promise((r) => setTimeout(r, 500));
  // The POST's update-with-start, as ModelCommands.deploy sends it for the row it found.
  const deployed = await env.commands.deploy('alice', spec('qwen-0.5b'));
  expect(deployed.model_key).toBe(row.modelKey);
  expect(await deleting).toMatchObject({ model_key: row.modelKey, state: 'DELETING', changed: true });
  await eventually(async () => (await getModel(env.stack.pool, row.modelKey))?.state === 'DELETED', 30_000, 'the model to be DELETED');
});

it('a delete of a model with neither a row nor a workflow is refused at once', async () => {
  await expect(env.commands.delete('svc-alice-20260101-000000-none')).rejects.toMatchObject({ status: 409 });
});
