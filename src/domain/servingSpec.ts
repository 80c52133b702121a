import YAML from 'yaml';
import { z } from 'zod';
import { badRequest, unprocessable } from './apiError';
import { autoscalingInputSchema, checkAutoscaling } from './autoscaling';
import { ALLOWED_ENGINE_KWARGS, EngineKwargs, engineKwargsJsonSchema, engineKwargsSchema } from './engineKwargs';
import { isRepoIdLike, resolveRepoId } from './modelRepo';
import { MAX_MODEL_SOURCE_LENGTH, MODEL_SOURCE_SHAPE, resolveModelSource } from './modelSourcePath';
import { suffixSchema } from './naming';
import type { ModelRepoRef, ServingSpec } from './servingSpecTypes';

export * from './servingSpecTypes';
import { replicasAtStart } from './servingSpecTypes';
import { parallelismFor } from './parallelism';
import { checkEnv, envInputSchema } from './replicaEnv';
import { checkResources, resourcesInputSchema } from './replicaResources';

/** Resource bounds; values outside them are 422 (contract section 4), wrong types are 400. */
export const MAX_REPLICAS = 64;
/** Where the cluster's nodes cannot be read: one node of this many GPUs. */
export const DEFAULT_NODE_GPUS = 8;
/** What the OpenAPI document states; the real bound is what the cluster's nodes can hold (parallelism.ts). */
export const MAX_GPUS_PER_REPLICA = 1024;
export const MAX_DESCRIPTION_LENGTH = 1000;
export const MIN_READINESS_TIMEOUT_S = 30;
export const MAX_READINESS_TIMEOUT_S = 6 * 3600;

/** A repo id as the document states it (modelRepo.ts says the whole rule). */
const REPO_ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9._\/-]*)?$/;

/**
 * How the OpenAPI document states a resource range. The schema itself accepts any number so
 * that a value out of range is answered 422 (contract section 4) while a wrong type is 400.
 */
export const wholeNumber = (minimum: number, maximum: number) => ({ type: 'integer' as const, minimum, maximum });

/** The ServingSpec as users write it (section 1.1). Unknown fields are an error. */
export const servingSpecInputSchema = z
  .object({
    model_id: suffixSchema.describe('Suffix of the public model name, e.g. qwen-0.5b'),
    model_source: z
      .string()
      .describe(
        'Local path: /private/hf/..., $HOME/..., or $HOME/common/hf/... (printable ASCII without "%" or "\\"; see the path rules), ' +
          'or a repo id org/name[@revision] staged in the shared Hugging Face cache under /private/hf/hub',
      )
      // The document states the character rules; resolveModelSource enforces them with messages that name the rule.
      .meta({ override: { anyOf: [{ pattern: MODEL_SOURCE_SHAPE.source }, { pattern: REPO_ID_SHAPE.source }], maxLength: MAX_MODEL_SOURCE_LENGTH } }),
    num_replicas: z.number().describe(`Replicas, 1-${MAX_REPLICAS} (or autoscaling instead)`).meta({ override: wholeNumber(1, MAX_REPLICAS) }).optional(),
    autoscaling: autoscalingInputSchema.optional(),
    gpus_per_replica: z
      .number()
      .describe('GPUs per replica: tensor parallel within a node, pipeline parallel across nodes when larger than one node; at most what the cluster\'s nodes hold')
      .meta({ override: wholeNumber(1, MAX_GPUS_PER_REPLICA) })
      .optional(),
    engine_kwargs: z
      .record(z.string(), z.unknown())
      .describe(`Allowlisted vLLM engine arguments: ${Object.keys(ALLOWED_ENGINE_KWARGS).join(', ')}`)
      .meta({ override: ({ jsonSchema }) => void Object.assign(jsonSchema, engineKwargsJsonSchema(false)) })
      .optional(),
    readiness_timeout_s: z
      .number()
      .describe(`Seconds a rollout may take to become ready, ${MIN_READINESS_TIMEOUT_S}-${MAX_READINESS_TIMEOUT_S}`)
      .meta({ override: wholeNumber(MIN_READINESS_TIMEOUT_S, MAX_READINESS_TIMEOUT_S) })
      .optional(),
    env: envInputSchema.optional(),
    resources: resourcesInputSchema.optional(),
    accelerator_type: z.string().describe("GPU type of the replicas, one of the platform's (a 422 names them); default the platform's").optional(),
    description: z.string().describe(`What the model serves, for people (at most ${MAX_DESCRIPTION_LENGTH} characters)`).optional(),
  })
  .strict()
  .meta({ id: 'ServingSpec', example: { model_id: 'qwen-0.5b', model_source: '$HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct', num_replicas: 1, gpus_per_replica: 1 } });

/** What the platform offers, as the API sees it when it validates a spec. */
export interface SpecPlatform {
  /** Accelerator types a spec may ask for; the first is the default. Empty: none may be asked for. */
  acceleratorTypes: readonly string[];
  /** GPUs of each node of the cluster. */
  nodeGpus: readonly number[];
  /** False while Ray cannot be read (nodeGpus is then a default): nothing is refused for not fitting the cluster as a whole. */
  nodesKnown?: boolean;
  /** GPUs of the cluster per accelerator type, where the nodes are known. */
  acceleratorGpus?: Readonly<Record<string, number>>;
  /** Where the logical /private paths live, for resolving repo ids; null: repo ids are not served. */
  storageRoot: string | null;
}

export const DEFAULT_PLATFORM: SpecPlatform = { acceleratorTypes: [], nodeGpus: [DEFAULT_NODE_GPUS], storageRoot: null };

export interface SpecRules {
  userId: string;
  allowStandInKnobs: boolean;
  platform?: SpecPlatform;
}


function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const field = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** The field the first problem is at (an unknown field's own name), for the error body's `field`. */
function fieldOfIssues(issues: z.core.$ZodIssue[], prefix: string[] = []): { field?: string } {
  const first = issues[0];
  if (!first) return {};
  const path = [...prefix, ...first.path.map(String), ...(first.code === 'unrecognized_keys' && first.keys[0] ? [first.keys[0]] : [])];
  return path.length > 0 ? { field: path.join('.') } : {};
}

function checkResource(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw unprocessable('invalid_resources', `${name} must be a whole number from 1 to ${max} (got ${value})`, { field: name });
  }
}

export function checkReplicas(value: number): void {
  checkResource('num_replicas', value, MAX_REPLICAS);
}

export function parseEngineKwargs(value: unknown, allowStandInKnobs: boolean): EngineKwargs {
  const result = engineKwargsSchema(allowStandInKnobs).safeParse(value);
  if (!result.success) throw badRequest('invalid_spec', describeIssues(result.error.issues), fieldOfIssues(result.error.issues, ['engine_kwargs']));
  return result.data;
}

/** Validates an already-parsed document (YAML or JSON) into a ServingSpec. */
export function validateServingSpec(document: unknown, rules: SpecRules): ServingSpec {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw badRequest('invalid_spec', 'the ServingSpec must be a mapping with model_id and model_source');
  }
  const parsed = servingSpecInputSchema.safeParse(document);
  if (!parsed.success) throw badRequest('invalid_spec', describeIssues(parsed.error.issues), fieldOfIssues(parsed.error.issues));
  const input = parsed.data;
  const platform = rules.platform ?? DEFAULT_PLATFORM;

  if (input.num_replicas !== undefined && input.autoscaling !== undefined) {
    throw unprocessable('invalid_resources', 'set either num_replicas (a fixed count) or autoscaling (a range), not both', { field: 'autoscaling' });
  }
  const autoscaling = input.autoscaling ? checkAutoscaling(input.autoscaling) : null;
  const numReplicas = autoscaling ? replicasAtStart(autoscaling) : (input.num_replicas ?? 1);
  const gpusPerReplica = input.gpus_per_replica ?? 1;
  checkReplicas(numReplicas);
  checkResource('gpus_per_replica', gpusPerReplica, MAX_GPUS_PER_REPLICA);
  const parallelism = parallelismFor(gpusPerReplica, platform.nodeGpus);
  const timeout = input.readiness_timeout_s;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < MIN_READINESS_TIMEOUT_S || timeout > MAX_READINESS_TIMEOUT_S)) {
    throw unprocessable(
      'invalid_resources',
      `readiness_timeout_s must be a whole number from ${MIN_READINESS_TIMEOUT_S} to ${MAX_READINESS_TIMEOUT_S}`,
      { field: 'readiness_timeout_s' },
    );
  }

  const source = resolveSource(input.model_source, rules.userId, platform);
  const spec: ServingSpec = {
    model_id_suffix: input.model_id,
    model_source: source.path,
    num_replicas: numReplicas,
    gpus_per_replica: gpusPerReplica,
    engine_kwargs: parseEngineKwargs(input.engine_kwargs ?? {}, rules.allowStandInKnobs),
    readiness_timeout_s: timeout ?? null,
  };
  // Only what was set is added: a spec without the newer fields stays equal to one stored before them.
  if (autoscaling) spec.autoscaling = autoscaling;
  if (input.env !== undefined && Object.keys(input.env).length > 0) spec.env = checkEnv(input.env);
  if (input.resources !== undefined && Object.keys(input.resources).length > 0) spec.resources = checkResources(input.resources);
  if (input.accelerator_type !== undefined) spec.accelerator_type = checkAcceleratorType(input.accelerator_type, platform);
  if (input.description !== undefined) spec.description = checkDescription(input.description);
  if (source.repo) spec.model_repo = source.repo;
  if (parallelism.pipeline_parallel_size > 1) spec.parallelism = parallelism;
  return spec;
}

function resolveSource(raw: string, userId: string, platform: SpecPlatform): { path: string; repo: ModelRepoRef | null } {
  if (!isRepoIdLike(raw)) return { path: resolveModelSource(raw, userId), repo: null };
  if (platform.storageRoot === null) {
    throw unprocessable('model_not_staged', `model_source ${raw} is a repo id, and this platform serves only local paths`, { field: 'model_source' });
  }
  const resolved = resolveRepoId(raw, platform.storageRoot);
  return { path: resolved.logical_path, repo: { repo_id: resolved.repo_id, revision: resolved.revision, commit: resolved.commit } };
}

function checkAcceleratorType(value: string, platform: SpecPlatform): string {
  if (platform.acceleratorTypes.includes(value)) return value;
  const offered = platform.acceleratorTypes.length > 0 ? `one of ${platform.acceleratorTypes.join(', ')}` : 'left out: this platform offers no choice of accelerator';
  throw unprocessable('invalid_accelerator_type', `accelerator_type ${JSON.stringify(value)} is not offered here; it must be ${offered}`, { field: 'accelerator_type' });
}

function checkDescription(value: string): string | null {
  if (value.length > MAX_DESCRIPTION_LENGTH) {
    throw badRequest('invalid_spec', `description must be at most ${MAX_DESCRIPTION_LENGTH} characters (got ${value.length})`, { field: 'description' });
  }
  // Tabs and newlines are text; other control characters would corrupt a terminal or a page.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) throw badRequest('invalid_spec', 'description must not contain control characters', { field: 'description' });
  return value.trim() === '' ? null : value;
}

/**
 * Parses a YAML body safely: the core schema only (no custom tags such as !!js/function),
 * duplicate keys refused, and alias expansion bounded against "billion laughs" documents.
 */
export function parseSpecYaml(text: string): unknown {
  const doc = YAML.parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: false });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw badRequest('invalid_yaml', `invalid YAML: ${problem.message.split('\n')[0]}`);
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw badRequest('invalid_yaml', `invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The spec as `resolved_spec_yaml` shows it: user-facing names, logical paths. */
export function specToYaml(spec: ServingSpec): string {
  const doc: Record<string, unknown> = { model_id: spec.model_id_suffix, model_source: spec.model_source };
  if (spec.autoscaling) doc.autoscaling = spec.autoscaling;
  else doc.num_replicas = spec.num_replicas;
  doc.gpus_per_replica = spec.gpus_per_replica;
  if (Object.keys(spec.engine_kwargs).length > 0) doc.engine_kwargs = spec.engine_kwargs;
  if (spec.readiness_timeout_s !== null) doc.readiness_timeout_s = spec.readiness_timeout_s;
  if (spec.env && Object.keys(spec.env).length > 0) doc.env = spec.env;
  if (spec.resources) doc.resources = spec.resources;
  if (spec.accelerator_type) doc.accelerator_type = spec.accelerator_type;
  if (spec.description) doc.description = spec.description;
  const yaml = new YAML.Document(doc);
  // The snapshot a repo id resolved to is what is served; the id it came from is kept beside it.
  if (spec.model_repo) {
    const source = yaml.get('model_source', true) as YAML.Scalar;
    source.comment = ` ${spec.model_repo.repo_id}@${spec.model_repo.revision}`;
  }
  return yaml.toString();
}

