import { z } from 'zod';
import { autoscalingInputSchema } from '../../domain/autoscaling';
import { MODEL_STATES } from '../../domain/lifecycle';
import { resourcesInputSchema } from '../../domain/replicaResources';

/**
 * Every JSON body the API answers, as zod schemas. Routes build their answers against these
 * types, the OpenAPI document is generated from them, and the contract tests parse real
 * responses with them, so the three cannot drift apart. Objects are strict: a field the
 * contract does not name is a test failure, not a silent addition.
 */
const isoTimestamp = z.iso.datetime().describe('ISO-8601 UTC, e.g. 2026-01-06T12:30:00Z');
const modelState = z.enum(MODEL_STATES).meta({ id: 'ModelState' });

export const servingModelSchema = z
  .object({
    model_key: z.string().describe('svc-<user_id>-<YYYYMMDD>-<HHMMSS>-<4 of [0-9a-z]>'),
    user_id: z.string(),
    model_id: z.string().describe('The OpenAI model name: <user_id>-<YYYYMMDDHHMM>-<suffix>'),
    model_id_suffix: z.string(),
    model_id_prefix: z.string(),
    model_source: z.string().describe('Logical path under /private'),
    model_repo: z
      .object({ repo_id: z.string(), revision: z.string(), commit: z.string() })
      .strict()
      .nullable()
      .describe('The repo id model_source was resolved from, and the snapshot it resolved to (null: a path was given)'),
    description: z.string().nullable(),
    num_replicas: z.int().describe('Replicas of a fixed-size model; for an autoscaled one, the replicas a rollout starts with'),
    autoscaling: autoscalingInputSchema.required().nullable().describe('The replica range (null: a fixed num_replicas)'),
    gpus_per_replica: z.int(),
    layout: z
      .object({ tensor_parallel_size: z.int(), pipeline_parallel_size: z.int() })
      .strict()
      .describe("How a replica's GPUs are split: tensor parallel within a node, pipeline parallel across nodes"),
    total_gpus: z.int().describe('GPUs the model may hold: num_replicas (max_replicas when autoscaled) x gpus_per_replica'),
    accelerator_type: z.string().nullable().describe("The GPU type asked for (null: the platform's default)"),
    resources: resourcesInputSchema.nullable().describe("CPU and memory per replica (null: the engine's defaults)"),
    env_names: z.array(z.string()).describe('Names of the environment variables set for the replicas (their values are shown only in resolved_spec_yaml)'),
    state: modelState,
    replicas: z
      .object({
        running: z.int().nullable().describe('Replicas Ray runs for the model, as the reconciler last saw them; null while it deploys or is not judged yet'),
        target: z.int().describe("Replicas asked for; for an autoscaled model, the autoscaler's current target as last seen (its floor until then)"),
        note: z.string().nullable().describe('What the numbers mean when they are surprising, e.g. a model scaled to zero'),
      })
      .strict()
      .describe('Observed replicas of a RUNNING or DEGRADED model'),
    last_healthy_at: isoTimestamp.nullable().describe('When the model was last seen served as asked (null: not yet seen so)'),
    admission: z
      .object({ position: z.int().describe('1: next to be admitted'), reason: z.string().describe('e.g. "waiting for 4 H20 GPUs (2 free, 1 model ahead)"') })
      .strict()
      .nullable()
      .describe("Its place in line while it waits for the cluster's GPUs (state QUEUED); null: not waiting"),
    endpoint: z.object({ openai_base_url: z.string(), model: z.string() }).strict(),
    error_summary: z.string().nullable().describe('Null unless something failed'),
    created_at: isoTimestamp,
    updated_at: isoTimestamp,
  })
  .strict()
  .meta({ id: 'ServingModel' });

export const modelListSchema = z
  .object({ items: z.array(servingModelSchema), openai_base_url: z.string() })
  .strict()
  .meta({ id: 'ModelList' });

export const modelEventSchema = z
  .object({
    seq: z.int().describe('Order of the event within the model, from 1'),
    event_type: z.string(),
    created_at: isoTimestamp,
    payload: z.record(z.string(), z.unknown()),
  })
  .strict()
  .meta({ id: 'ModelEvent' });

export const modelServeStatusSchema = z
  .object({
    app_name: z.string().describe("The model's own Serve application: the revision the ingress routes it to"),
    app_status: z.string().describe('Ray Serve application status; NOT_DEPLOYED or UNKNOWN when Ray has none or cannot be asked'),
    deployment_status: z.string().nullable().describe("This model's deployment status, null when it has none"),
    running_replicas: z.int().describe('Replicas Ray reports RUNNING'),
    target_replicas: z.int().describe('Replicas Ray is asked to run'),
    message: z.string().nullable().describe("Ray's message about the deployment (or the app), if any"),
  })
  .strict()
  .meta({ id: 'ModelServeStatus' });

export const modelDetailSchema = z
  .object({
    model: servingModelSchema,
    resolved_spec_yaml: z.string().describe('The spec as applied: macros expanded, defaults filled in, logical paths'),
    events: z.array(modelEventSchema),
    serve_status: modelServeStatusSchema,
  })
  .strict()
  .meta({ id: 'ModelDetail' });

export const requestAckSchema = z
  .object({
    model_key: z.string(),
    state: modelState,
    revision: z.int().describe('The revision this request produced (or the current one when nothing changed)'),
    changed: z.boolean().describe('False when the request changed nothing, so no rollout starts'),
  })
  .strict()
  .meta({ id: 'RequestAck' });

export const reconcilerViewSchema = z
  .object({
    observed_at: isoTimestamp.nullable().describe('When the reconciler last looked at the cluster (null: never yet)'),
    reachable: z.boolean().nullable().describe('Whether Ray answered that look'),
    message: z.string().describe('Why Ray could not be read, if it could not'),
    recent_repairs: z
      .array(z.object({ event_type: z.string(), created_at: isoTimestamp, payload: z.record(z.string(), z.unknown()) }).strict())
      .describe('Repairs of the cluster itself, newest first: orphan apps removed, the ingress re-sent'),
  })
  .strict()
  .meta({ id: 'ReconcilerView' });

export const capacityViewSchema = z
  .object({
    nodes: z
      .array(z.object({ node_id: z.string(), is_head: z.boolean(), gpus: z.int(), accelerator_types: z.array(z.string()) }).strict())
      .nullable()
      .describe("The cluster's alive nodes as Ray lists them (null: Ray cannot be read)"),
    accelerators: z
      .record(
        z.string(),
        z
          .object({
            capacity: z.int().nullable().describe('GPUs of this type on the nodes (null: Ray cannot be read)'),
            reserved: z.int().describe('GPUs held by the admitted models of this type (max replicas x gpus_per_replica each)'),
            free: z.int().nullable(),
          })
          .strict(),
      )
      .describe('Per accelerator type'),
    queue: z
      .array(
        z
          .object({
            position: z.int(),
            model_key: z.string(),
            accelerator: z.string(),
            wanted_gpus: z.int(),
            held_gpus: z.int().describe('What it holds while it waits (a scale-up keeps its current GPUs)'),
            waiting_since: isoTimestamp,
          })
          .strict(),
      )
      .describe('Models waiting for GPUs, first come first served (a line per accelerator type)'),
    users: z
      .array(
        z
          .object({
            user_id: z.string(),
            gpus: z.int(),
            models: z.int(),
            max_gpus: z.int().nullable(),
            max_models: z.int().nullable(),
            quota_source: z.enum(['user', 'default']),
          })
          .strict(),
      )
      .describe('What each user reserves, against their quota'),
  })
  .strict()
  .meta({ id: 'CapacityView' });

export const serveClusterStatusSchema = z
  .object({
    reconciler: reconcilerViewSchema,
    capacity: capacityViewSchema,
    proxies: z.record(z.string(), z.string()).describe('HTTP proxy status per Ray node'),
    applications: z.record(
      z.string(),
      z
        .object({
          status: z.string(),
          message: z.string(),
          deployments: z.record(
            z.string(),
            z.object({ status: z.string(), message: z.string(), replicas: z.array(z.string()).describe('Replica states') }).strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict()
  .meta({ id: 'ServeClusterStatus' });

export const whoAmISchema = z
  .object({ user_id: z.string(), is_admin: z.boolean() })
  .strict()
  .meta({ id: 'WhoAmI' });

export const userCreatedSchema = z.object({ user_id: z.string() }).strict().meta({ id: 'UserCreated' });

export const tokenIssuedSchema = z
  .object({ user_id: z.string(), token_id: z.string(), token: z.string().describe('The secret; shown this once, only its hash is stored') })
  .strict()
  .meta({ id: 'TokenIssued' });

export const tokenListSchema = z
  .object({
    items: z.array(z.object({ token_id: z.string(), created_at: isoTimestamp, revoked_at: isoTimestamp.nullable() }).strict()),
  })
  .strict()
  .meta({ id: 'TokenList' });

export const tokenRevokedSchema = z.object({ token_id: z.string(), revoked: z.literal(true) }).strict().meta({ id: 'TokenRevoked' });

export const healthSchema = z
  .object({ status: z.enum(['ok', 'unavailable']), postgres: z.string(), temporal: z.string() })
  .strict()
  .meta({ id: 'Health' });

export const quotaViewSchema = z
  .object({
    user_id: z.string(),
    max_gpus: z.int().nullable(),
    max_models: z.int().nullable(),
    source: z.enum(['user', 'default']).describe("user: set for this user; default: the platform's default (serving.quotas)"),
    usage: z.object({ gpus: z.int().describe('GPUs reserved by the user\'s models'), models: z.int() }).strict(),
  })
  .strict()
  .meta({ id: 'QuotaView' });

export const errorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string().describe('Stable, machine-readable'),
        message: z.string().describe('What went wrong, naming the field or rule'),
        field: z.string().optional().describe('The spec field at fault, where there is one'),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'Error' });

export type ServingModelBody = z.infer<typeof servingModelSchema>;
export type ModelDetailBody = z.infer<typeof modelDetailSchema>;
export type ModelServeStatusBody = z.infer<typeof modelServeStatusSchema>;
export type RequestAckBody = z.infer<typeof requestAckSchema>;
export type ServeClusterStatusBody = z.infer<typeof serveClusterStatusSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type QuotaViewBody = z.infer<typeof quotaViewSchema>;
export type WhoAmIBody = z.infer<typeof whoAmISchema>;
