import { Router } from 'express';
import type { Pool } from 'pg';
import { type AppConfig, engineSettingsOf } from '../../config/config';
import { getModel, getModelWithEvents, listModels, ModelRow } from '../../db/models';
import { badRequest, notFound, unprocessable } from '../../domain/apiError';
import { MODEL_KEY_PATTERN, publicModelId } from '../../domain/naming';
import { checkAutoscaling, replicasAtStart } from '../../domain/autoscaling';
import { checkReplicas, parseEngineKwargs, replicaFloor, ServingSpec, validateServingSpec } from '../../domain/servingSpec';
import { ClusterEntryConfig, isPlacement } from '../../ray/clusterLayout';
import { routedApp } from '../../ray/modelPlacement';
import { deploymentNameFor } from '../../ray/serveConfig';
import { currentUser } from '../auth';
import { patchModelSchema, type PatchModel } from '../contract/requestSchemas';
import type { ModelDetailBody, ModelServeStatusBody, RequestAckBody } from '../contract/responseSchemas';
import type { ModelCommands } from '../modelCommands';
import type { ServeStatusCache } from '../serveStatusCache';
import { requireJsonBody } from '../jsonBody';
import { resolvedSpecYaml } from '../resolvedSpecYaml';
import { isoUtc, toServingModel } from '../servingModelView';
import { specDocument } from '../specBody';
import type { SpecPlatformSource } from '../specPlatform';
import type { Admission } from '../admission';

/** Fields that exist in a ServingSpec but change only through POST, with the reason given to the user. */
const POST_ONLY_FIELDS: Readonly<Record<string, string>> = {
  gpus_per_replica: 'gpus_per_replica cannot be patched; POST the full ServingSpec to change it (the model redeploys)',
  model_source: 'model_source cannot be patched; POST the full ServingSpec to change it (the model redeploys)',
  model_id: 'model_id names the model and cannot be changed; POST a spec with the new model_id to create another model',
  readiness_timeout_s: 'readiness_timeout_s cannot be patched; POST the full ServingSpec to change it',
  env: 'env cannot be patched; POST the full ServingSpec to change it (the replicas restart)',
  resources: 'resources cannot be patched; POST the full ServingSpec to change it (the model redeploys)',
  accelerator_type: 'accelerator_type cannot be patched; POST the full ServingSpec to change it (the model redeploys)',
  description: 'description cannot be patched; POST the full ServingSpec to change it',
};

const PATCH_FIELDS = 'num_replicas, autoscaling and engine_kwargs';

function parsePatch(body: unknown): PatchModel {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('invalid_body', 'the PATCH body must be a JSON object, e.g. {"num_replicas": 2}');
  }
  for (const [field, reason] of Object.entries(POST_ONLY_FIELDS)) if (field in body) throw badRequest('invalid_spec', reason, { field });
  const parsed = patchModelSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}; PATCH accepts ${PATCH_FIELDS}` : `${i.path.join('.')}: ${i.message}`,
    );
    throw badRequest('invalid_spec', problems.join('; '));
  }
  const { num_replicas: replicas, autoscaling, engine_kwargs: kwargs } = parsed.data;
  if (replicas === undefined && autoscaling === undefined && kwargs === undefined) {
    throw badRequest('invalid_spec', `the PATCH body changes nothing; send ${PATCH_FIELDS.replace(' and ', ' and/or ')}`);
  }
  if (replicas !== undefined && autoscaling !== undefined) {
    throw unprocessable('invalid_resources', 'set either num_replicas (a fixed count) or autoscaling (a range), not both', { field: 'autoscaling' });
  }
  return parsed.data;
}

/**
 * The spec a PATCH asks for. `num_replicas` makes the model fixed-size, `autoscaling` (whole, as
 * in a spec) makes it autoscaled; engine_kwargs are merged into the current ones.
 */
function patchedSpec(current: ServingSpec, patch: PatchModel, allowStandInKnobs: boolean): ServingSpec {
  let next: ServingSpec = { ...current };
  if (patch.num_replicas !== undefined) {
    checkReplicas(patch.num_replicas);
    const { autoscaling: _fixedNow, ...rest } = next;
    next = { ...rest, num_replicas: patch.num_replicas };
  }
  if (patch.autoscaling !== undefined) {
    const autoscaling = checkAutoscaling(patch.autoscaling);
    next = { ...next, autoscaling, num_replicas: replicasAtStart(autoscaling) };
  }
  if (!patch.engine_kwargs) return next;
  const merged: Record<string, unknown> = { ...current.engine_kwargs };
  for (const [key, value] of Object.entries(patch.engine_kwargs)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return { ...next, engine_kwargs: parseEngineKwargs(merged, allowStandInKnobs) };
}

export function modelRoutes(deps: {
  pool: Pool;
  commands: ModelCommands;
  config: AppConfig;
  serveStatus: ServeStatusCache;
  platform: SpecPlatformSource;
  admission: Admission;
}): Router {
  const { pool, commands, config, serveStatus, platform, admission } = deps;
  const openaiBaseUrl = config.serving.openai_base_url;
  const allowStandInKnobs = engineSettingsOf(config).server_cls !== null;
  const router = Router();

  /** The caller's model; another user's model is reported missing so its existence does not leak. */
  async function ownedModel(userId: string, modelKey: string): Promise<ModelRow> {
    if (!MODEL_KEY_PATTERN.test(modelKey)) throw notFound(`model ${modelKey} not found`);
    const row = await getModel(pool, modelKey);
    if (!row || row.userId !== userId) throw notFound(`model ${modelKey} not found`);
    return row;
  }

  /**
   * How the model's own app stands on Ray: the app the ingress routes it to (from the cluster's
   * desired set), or its deployment in the previous release's single app.
   */
  async function serveStatusOf(row: ModelRow, entry: ClusterEntryConfig | null): Promise<ModelServeStatusBody> {
    const modelId = publicModelId(row.prefix, row.suffix);
    const placed = entry !== null && isPlacement(entry) ? routedApp(entry) : null;
    const appName = placed?.app_name ?? config.serving.app_name;
    const deploymentName = placed?.deployment.name ?? deploymentNameFor(modelId, engineSettingsOf(config).server_cls);
    const target = placed?.deployment.autoscaling_config.min_replicas ?? replicaFloor(row.spec);
    const details = await serveStatus.get();
    if (details instanceof Error) {
      return {
        app_name: appName,
        app_status: 'UNKNOWN',
        deployment_status: null,
        running_replicas: 0,
        target_replicas: target,
        message: `Ray dashboard not reachable: ${details.message}`,
      };
    }
    const app = details.applications[appName];
    const deployment = app?.deployments[deploymentName];
    return {
      app_name: appName,
      app_status: app?.status ?? 'NOT_DEPLOYED',
      deployment_status: deployment?.status ?? null,
      running_replicas: deployment ? deployment.replicas.filter((r) => r.state === 'RUNNING').length : 0,
      target_replicas: deployment?.target_num_replicas ?? target,
      message: deployment?.message || app?.message || null,
    };
  }

  router.post('/models', async (req, res) => {
    const user = currentUser(req);
    const document = specDocument(req);
    const cluster = await platform.get();
    const spec = validateServingSpec(document, { userId: user.userId, allowStandInKnobs, platform: cluster });
    const ack: RequestAckBody = await admission.admit(user.userId, { suffix: spec.model_id_suffix }, spec, cluster, () => commands.deploy(user.userId, spec));
    res.status(202).json(ack);
  });

  router.get('/models', async (req, res) => {
    const user = currentUser(req);
    const rows = await listModels(pool, user.userId);
    res.json({ items: rows.map((row) => toServingModel(row, openaiBaseUrl)), openai_base_url: openaiBaseUrl });
  });

  router.get('/models/:model_key', async (req, res) => {
    const user = currentUser(req);
    // The row, its events and its cluster entry in one query; used only once the row shows the caller owns the model.
    const modelKey = req.params.model_key;
    const found = MODEL_KEY_PATTERN.test(modelKey) ? await getModelWithEvents(pool, modelKey, config.serving.cluster_id) : null;
    if (!found || found.model.userId !== user.userId) throw notFound(`model ${modelKey} not found`);
    const { model: row, events } = found;
    const serve = await serveStatusOf(row, found.clusterEntry ?? null);
    const body: ModelDetailBody = {
      model: toServingModel(row, openaiBaseUrl),
      resolved_spec_yaml: resolvedSpecYaml(row.spec),
      events: events.map((e) => ({ seq: e.seq, event_type: e.eventType, created_at: isoUtc(e.createdAt), payload: e.payload })),
      serve_status: serve,
    };
    res.json(body);
  });

  router.patch('/models/:model_key', async (req, res) => {
    const user = currentUser(req);
    const row = await ownedModel(user.userId, req.params.model_key);
    const patch = parsePatch(requireJsonBody(req, '{"num_replicas": 2}'));
    const spec = patchedSpec(row.spec, patch, allowStandInKnobs);
    // A pure scale is its own message (the workflow records SCALE_REQUESTED); an engine change redeploys the spec.
    const send = () =>
      patch.engine_kwargs
        ? commands.redeploy(row.modelKey, spec)
        : commands.scale(row.modelKey, spec.autoscaling ? { autoscaling: spec.autoscaling } : { num_replicas: spec.num_replicas });
    const ack: RequestAckBody = await admission.admit(user.userId, { modelKey: row.modelKey }, spec, await platform.get(), send);
    res.json(ack);
  });

  router.delete('/models/:model_key', async (req, res) => {
    const user = currentUser(req);
    const row = await ownedModel(user.userId, req.params.model_key);
    const ack: RequestAckBody =
      row.state === 'DELETED' ? { model_key: row.modelKey, state: 'DELETED', revision: row.revision, changed: false } : await commands.delete(row.modelKey);
    res.json(ack);
  });

  return router;
}
