import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { AppConfig } from '../../config/config';
import { getModel, listEvents, listModels, ModelRow } from '../../db/models';
import { badRequest, notFound } from '../../domain/apiError';
import { MODEL_KEY_PATTERN, publicModelId } from '../../domain/naming';
import { checkReplicas, specToYaml, validateServingSpec } from '../../domain/servingSpec';
import { deploymentNameFor } from '../../ray/serveConfig';
import { currentUser } from '../auth';
import type { ModelCommands } from '../modelCommands';
import type { ServeStatusCache } from '../serveStatusCache';
import { isoUtc, toServingModel } from '../servingModelView';
import { specDocument } from '../specBody';

export const patchBodySchema = z
  .object({ num_replicas: z.number().describe('New replica count') })
  .strict();

export function modelRoutes(deps: { pool: Pool; commands: ModelCommands; config: AppConfig; serveStatus: ServeStatusCache }): Router {
  const { pool, commands, config, serveStatus } = deps;
  const openaiBaseUrl = config.serving.openai_base_url;
  const router = Router();

  /** The caller's model; another user's model is reported missing so its existence does not leak. */
  async function ownedModel(userId: string, modelKey: string): Promise<ModelRow> {
    if (!MODEL_KEY_PATTERN.test(modelKey)) throw notFound(`model ${modelKey} not found`);
    const row = await getModel(pool, modelKey);
    if (!row || row.userId !== userId) throw notFound(`model ${modelKey} not found`);
    return row;
  }

  router.post('/models', async (req, res) => {
    const user = currentUser(req);
    const spec = validateServingSpec(specDocument(req), { userId: user.userId, allowStandInKnobs: config.serving.llm.server_cls !== null });
    const ack = await commands.deploy(user.userId, spec);
    res.status(202).json({ model_key: ack.model_key, state: ack.state, revision: ack.revision, changed: ack.changed });
  });

  router.get('/models', async (req, res) => {
    const user = currentUser(req);
    const rows = await listModels(pool, user.userId);
    res.json({ items: rows.map((row) => toServingModel(row, openaiBaseUrl)), openai_base_url: openaiBaseUrl });
  });

  router.get('/models/:model_key', async (req, res) => {
    const user = currentUser(req);
    const row = await ownedModel(user.userId, req.params.model_key);
    const [events, details] = await Promise.all([listEvents(pool, row.modelKey), serveStatus.get()]);
    const appName = config.serving.app_name;
    let serve: Record<string, unknown>;
    if (details instanceof Error) {
      serve = { app_name: appName, app_status: 'UNKNOWN', message: `Ray dashboard not reachable: ${details.message}` };
    } else {
      const app = details.applications[appName];
      const deployment = app?.deployments[deploymentNameFor(publicModelId(row.prefix, row.suffix), config.serving.llm.server_cls)];
      serve = {
        app_name: appName,
        app_status: app?.status ?? 'NOT_DEPLOYED',
        deployment_status: deployment?.status ?? null,
        running_replicas: deployment ? deployment.replicas.filter((r) => r.state === 'RUNNING').length : 0,
      };
    }
    res.json({
      model: toServingModel(row, openaiBaseUrl),
      resolved_spec_yaml: specToYaml(row.spec),
      events: events.map((e) => ({ seq: e.seq, event_type: e.eventType, created_at: isoUtc(e.createdAt), payload: e.payload })),
      serve_status: serve,
    });
  });

  router.patch('/models/:model_key', async (req, res) => {
    const user = currentUser(req);
    const row = await ownedModel(user.userId, req.params.model_key);
    if (!req.is('application/json')) throw badRequest('invalid_body', 'send PATCH bodies as application/json, e.g. {"num_replicas": 2}');
    if (req.body && typeof req.body === 'object' && 'gpus_per_replica' in req.body) {
      throw badRequest('invalid_spec', 'gpus_per_replica cannot be patched; POST the full ServingSpec to change it (the model redeploys)');
    }
    const parsed = patchBodySchema.safeParse(req.body);
    if (!parsed.success) {
      throw badRequest('invalid_spec', parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}; PATCH accepts only num_replicas` : `${i.path.join('.')}: ${i.message}`)).join('; '));
    }
    checkReplicas(parsed.data.num_replicas);
    const ack = await commands.scale(row.modelKey, parsed.data.num_replicas);
    res.json({ model_key: ack.model_key, state: ack.state, revision: ack.revision, changed: ack.changed });
  });

  router.delete('/models/:model_key', async (req, res) => {
    const user = currentUser(req);
    const row = await ownedModel(user.userId, req.params.model_key);
    if (row.state === 'DELETED') {
      res.json({ model_key: row.modelKey, state: 'DELETED' });
      return;
    }
    const ack = await commands.delete(row.modelKey);
    res.json({ model_key: ack.model_key, state: ack.state });
  });

  return router;
}
