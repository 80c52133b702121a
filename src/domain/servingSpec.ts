import YAML from 'yaml';
import { z } from 'zod';
import { badRequest, unprocessable } from './apiError';
import { ALLOWED_ENGINE_KWARGS, EngineKwargs, engineKwargsJsonSchema, engineKwargsSchema } from './engineKwargs';
import { MAX_MODEL_SOURCE_LENGTH, MODEL_SOURCE_SHAPE, resolveModelSource } from './modelSourcePath';
import { suffixSchema } from './naming';

/** Resource bounds; values outside them are 422 (contract section 4), wrong types are 400. */
export const MAX_REPLICAS = 64;
export const MAX_GPUS_PER_REPLICA = 8;
export const MIN_READINESS_TIMEOUT_S = 30;
export const MAX_READINESS_TIMEOUT_S = 6 * 3600;

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
      .describe('Local path: /private/hf/..., $HOME/..., or $HOME/common/hf/... (printable ASCII without "%" or "\\"; see the path rules)')
      // The document states the character rules; resolveModelSource enforces them with messages that name the rule.
      .meta({ override: { pattern: MODEL_SOURCE_SHAPE.source, maxLength: MAX_MODEL_SOURCE_LENGTH } }),
    num_replicas: z.number().describe(`Replicas, 1-${MAX_REPLICAS}`).meta({ override: wholeNumber(1, MAX_REPLICAS) }).optional(),
    gpus_per_replica: z
      .number()
      .describe(`GPUs per replica (tensor parallel size), 1-${MAX_GPUS_PER_REPLICA}`)
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
  })
  .strict()
  .meta({ id: 'ServingSpec', example: { model_id: 'qwen-0.5b', model_source: '$HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct', num_replicas: 1, gpus_per_replica: 1 } });

/** A validated spec with macros expanded: what workflows carry and `resolved_spec_yaml` shows. */
export interface ServingSpec {
  model_id_suffix: string;
  /** Logical path under /private, never the storage root it maps to. */
  model_source: string;
  num_replicas: number;
  gpus_per_replica: number;
  engine_kwargs: EngineKwargs;
  /** Per-model override of the platform's readiness deadline. */
  readiness_timeout_s: number | null;
}

export interface SpecRules {
  userId: string;
  allowStandInKnobs: boolean;
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
  if (!result.success) throw badRequest('invalid_spec', describeIssues(result.error.issues), { field: 'engine_kwargs' });
  return result.data;
}

/** Validates an already-parsed document (YAML or JSON) into a ServingSpec. */
export function validateServingSpec(document: unknown, rules: SpecRules): ServingSpec {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw badRequest('invalid_spec', 'the ServingSpec must be a mapping with model_id and model_source');
  }
  const parsed = servingSpecInputSchema.safeParse(document);
  if (!parsed.success) throw badRequest('invalid_spec', describeIssues(parsed.error.issues));
  const input = parsed.data;

  const numReplicas = input.num_replicas ?? 1;
  const gpusPerReplica = input.gpus_per_replica ?? 1;
  checkReplicas(numReplicas);
  checkResource('gpus_per_replica', gpusPerReplica, MAX_GPUS_PER_REPLICA);
  const timeout = input.readiness_timeout_s;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < MIN_READINESS_TIMEOUT_S || timeout > MAX_READINESS_TIMEOUT_S)) {
    throw unprocessable(
      'invalid_resources',
      `readiness_timeout_s must be a whole number from ${MIN_READINESS_TIMEOUT_S} to ${MAX_READINESS_TIMEOUT_S}`,
      { field: 'readiness_timeout_s' },
    );
  }

  return {
    model_id_suffix: input.model_id,
    model_source: resolveModelSource(input.model_source, rules.userId),
    num_replicas: numReplicas,
    gpus_per_replica: gpusPerReplica,
    engine_kwargs: parseEngineKwargs(input.engine_kwargs ?? {}, rules.allowStandInKnobs),
    readiness_timeout_s: timeout ?? null,
  };
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
  const doc: Record<string, unknown> = {
    model_id: spec.model_id_suffix,
    model_source: spec.model_source,
    num_replicas: spec.num_replicas,
    gpus_per_replica: spec.gpus_per_replica,
  };
  if (Object.keys(spec.engine_kwargs).length > 0) doc.engine_kwargs = spec.engine_kwargs;
  if (spec.readiness_timeout_s !== null) doc.readiness_timeout_s = spec.readiness_timeout_s;
  return YAML.stringify(doc);
}
