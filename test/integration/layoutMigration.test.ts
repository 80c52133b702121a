import type { Pool } from 'pg';
import type { ModelCommands } from '../../src/api/modelCommands';
import { getModel } from '../../src/db/models';
import { RayDashboardClient } from '../../src/ray/dashboardClient';
import { renderManagedApplication, renderModelConfig, renderSingleAppBody } from '../../src/ray/singleAppLayout';
import { layoutMigrationWorkflow } from '../../src/workflows/layoutMigrationWorkflow';
import { modelIdsInPut, type RayDouble } from '../support/rayDouble';
import { testSpec as spec } from '../support/servingSpecs';
import { useDoubleStack } from '../support/doubleStack';
import { eventually, type RunningStack } from '../support/stack';
import { renderSettingsOf } from '../../src/ray/serveConfig';

/**
 * The upgrade path: a cluster the previous release left with every model in one
 * `build_openai_app` app (its rows in cluster_models and the PUT it sent) is moved, when the new
 * worker starts, to one app per model behind the ingress, without a moment where a model is on
 * neither.
 */
const env = useDoubleStack();
let ray: RayDouble;
let stack: RunningStack;
let commands: ModelCommands;
let pool: Pool;
beforeAll(() => {
  ({ ray, stack, commands } = env);
  pool = stack.pool;
});

const render = () => renderSettingsOf(stack.config);

it('puts the ingress on a fresh cluster before its first model', async () => {
  expect(ray.appNames()).toEqual([]);
  const result = await stack.client.workflow.execute(layoutMigrationWorkflow, {
    workflowId: `layout-migration-fresh-${Date.now()}`,
    taskQueue: stack.config.temporal.task_queue,
    args: [{ readinessTimeoutS: 30 }],
  });
  expect(result).toEqual({ migrated: 0, failed: [] });
  expect(ray.appNames()).toEqual([stack.config.serving.app_name]);
  expect(ray.ingressRoutes()).toEqual([]);
  const chat = await fetch(`${ray.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'nobody-202611291752-qwen-0.5b', messages: [] }) });
  expect(chat.status).toBe(404);
  expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
});

it('moves every model of the single app to an app of its own, the single app serving until they are up', async () => {
  const suffixes = ['qwen-0.5b', 'llama3.1-8b'];
  const acks = await Promise.all(suffixes.map((s) => commands.deploy('alice', spec(s, { num_replicas: 2 }))));
  await Promise.all(acks.map((ack) => eventually(async () => (await getModel(pool, ack.model_key))?.state === 'RUNNING', 30_000, `${ack.model_key} RUNNING`)));
  const modelIds = await Promise.all(acks.map(async (ack) => `${(await getModel(pool, ack.model_key))!.prefix}-${(await getModel(pool, ack.model_key))!.suffix}`));

  // The state the previous release leaves: single-app entries, and its PUT on the cluster.
  const legacy = acks.map((ack, i) => renderModelConfig(modelIds[i]!, spec(suffixes[i]!, { num_replicas: 2 }), 'r1', render()));
  for (const [i, ack] of acks.entries()) {
    await pool.query('UPDATE cluster_models SET model_config = $3, applied_config = $3 WHERE cluster_id = $1 AND model_key = $2', [
      stack.config.serving.cluster_id,
      ack.model_key,
      JSON.stringify(legacy[i]),
    ]);
  }
  await new RayDashboardClient(ray.url).putServeApplications(renderSingleAppBody(renderManagedApplication(stack.config.serving.app_name, legacy), []));
  expect(ray.appNames()).toEqual([stack.config.serving.app_name]);
  expect(ray.ingressRoutes()).toBeNull();
  const putsBefore = ray.puts.length;

  ray.faults.holdReady.add('llama3.1-8b'); // one model's own app stays starting until the test lets go
  const migration = await stack.client.workflow.start(layoutMigrationWorkflow, {
    workflowId: `layout-migration-test-${Date.now()}`,
    taskQueue: stack.config.temporal.task_queue,
    args: [{ readinessTimeoutS: 30 }],
  });
  await eventually(async () => ray.puts.length > putsBefore, 10_000, 'the models staged in apps of their own');
  await new Promise((r) => setTimeout(r, 1_500));
  // While one new app is not up, the single app stays, holding both models.
  expect(ray.puts.length).toBe(putsBefore + 1);
  expect(ray.appNames()).toContain(stack.config.serving.app_name);
  expect(ray.ingressRoutes()).toBeNull();
  ray.faults.holdReady.clear();
  expect(await migration.result()).toEqual({ migrated: 2, failed: [] });

  const puts = ray.puts.slice(putsBefore);
  expect(puts).toHaveLength(2);
  // First the models' own apps beside the single app, which still holds them; then the ingress in its place.
  expect(puts[0]!.map((a) => a.import_path).sort()).toEqual(['argus_serve.builders:build_model_app', 'argus_serve.builders:build_model_app', 'ray.serve.llm:build_openai_app']);
  expect(puts[1]!.map((a) => a.import_path).sort()).toEqual(['argus_serve.builders:build_ingress_app', 'argus_serve.builders:build_model_app', 'argus_serve.builders:build_model_app']);
  for (const put of puts) expect(modelIdsInPut(put).sort()).toEqual([...modelIds].sort());
  for (const ack of acks) expect(ray.appNames()).toContain(`${stack.config.serving.app_name}--${ack.model_key}--migrated`);
  expect(ray.ingressRoutes()?.map((r) => r.model_id).sort()).toEqual([...modelIds].sort());

  // The models serve through the ingress, and their workflows go on in the new layout: a scale stays in the migrated app.
  const chat = await fetch(`${ray.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: modelIds[0], messages: [{ role: 'user', content: 'hi' }] }) });
  expect(chat.status).toBe(200);
  await commands.scale(acks[0]!.model_key, 3);
  await eventually(async () => ray.replicaIds()[`${stack.config.serving.app_name}--${acks[0]!.model_key}--migrated/${modelIds[0]}`]?.length === 3, 30_000, 'the migrated app scaled');
  await eventually(async () => (await getModel(pool, acks[0]!.model_key))?.state === 'RUNNING', 30_000, 'RUNNING after the scale');

  // A second run finds nothing left to move.
  const again = await stack.client.workflow.execute(layoutMigrationWorkflow, {
    workflowId: `layout-migration-test-again-${Date.now()}`,
    taskQueue: stack.config.temporal.task_queue,
    args: [{ readinessTimeoutS: 30 }],
  });
  expect(again).toEqual({ migrated: 0, failed: [] });
});
