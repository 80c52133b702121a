import { getModel, listModels } from '../../src/db/models';
import { useDoubleStack } from '../support/doubleStack';
import { testSpec as spec } from '../support/servingSpecs';
import { eventually } from '../support/stack';

/**
 * A POST whose workflow does not acknowledge within the API's deadline (a busy server, no worker
 * polling) is answered 503, but update-with-start has already started the workflow, which takes
 * the request once a worker gets to it. The model's row must stay, so the client's retry reaches
 * that workflow: removing it made every retry start a second model, and left the first one running
 * for a row that no longer existed (the F2 storm at 1,000 models).
 */
const env = useDoubleStack();

it('a POST that timed out keeps its model, and the retry reaches the same workflow', async () => {
  await env.stack.stopWorker();
  let error: unknown;
  try {
    await env.commands.deploy('alice', spec('qwen-0.5b'));
  } catch (err) {
    error = err;
  } finally {
    await env.stack.startWorker();
  }
  expect(error).toMatchObject({ status: 503, message: expect.stringMatching(/was created, but its workflow did not acknowledge.*POST the same spec again/) });

  const listed = (await listModels(env.stack.pool, 'alice')).filter((m) => m.suffix === 'qwen-0.5b');
  expect(listed).toHaveLength(1);
  const modelKey = (listed[0] as (typeof listed)[number]).modelKey;

  const retried = await env.commands.deploy('alice', spec('qwen-0.5b'));
  expect(retried.model_key).toBe(modelKey);
  await eventually(async () => (await getModel(env.stack.pool, modelKey))?.state === 'RUNNING', 60_000, 'the model to be RUNNING');
  expect((await listModels(env.stack.pool, 'alice')).filter((m) => m.suffix === 'qwen-0.5b')).toHaveLength(1);
  // One model on the cluster, not one per attempt.
  expect(env.ray.modelIds().filter((id) => id.endsWith('-qwen-0.5b'))).toHaveLength(1);
}, 120_000);
