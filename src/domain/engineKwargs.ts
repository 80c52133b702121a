import { z } from 'zod';

/**
 * vLLM engine arguments a user may pass through `engine_kwargs`. Everything else is refused:
 * arguments that run code or reach outside the staged weights (trust_remote_code, download_dir,
 * tokenizer, ...) and those the platform derives itself (tensor_parallel_size from
 * gpus_per_replica, model from model_source).
 */
export const ALLOWED_ENGINE_KWARGS = {
  max_model_len: z.number().int().min(16).max(1_048_576),
  gpu_memory_utilization: z.number().gt(0).max(0.99),
  max_num_seqs: z.number().int().min(1).max(4096),
  max_num_batched_tokens: z.number().int().min(16).max(1_048_576),
  dtype: z.enum(['auto', 'half', 'float16', 'bfloat16', 'float', 'float32']),
  kv_cache_dtype: z.enum(['auto', 'fp8', 'fp8_e4m3', 'fp8_e5m2']),
  quantization: z.enum(['awq', 'gptq', 'fp8', 'bitsandbytes', 'compressed-tensors']),
  enforce_eager: z.boolean(),
  enable_prefix_caching: z.boolean(),
  enable_chunked_prefill: z.boolean(),
  block_size: z.union([z.literal(8), z.literal(16), z.literal(32)]),
  seed: z.number().int().min(0),
  swap_space: z.number().min(0).max(256),
} as const;

/** Knobs understood only by the CPU stand-in server; accepted only where it is configured. */
export const STAND_IN_ENGINE_KWARGS = {
  standin_load_delay_s: z.number().min(0).max(600),
  standin_fail_on_start: z.union([z.boolean(), z.string().max(500)]),
  standin_reply_delay_s: z.number().min(0).max(60),
} as const;

/** Refused with a reason instead of the generic "not allowed". */
export const REFUSED_ENGINE_KWARGS: Readonly<Record<string, string>> = {
  trust_remote_code: 'runs code shipped with the weights',
  download_dir: 'weights are read only from model_source',
  tokenizer: 'the tokenizer is read from model_source',
  model: 'set by the platform from model_source',
  served_model_name: 'set by the platform from model_id',
  tensor_parallel_size: 'derived from gpus_per_replica',
  pipeline_parallel_size: 'not supported; use gpus_per_replica',
  distributed_executor_backend: 'chosen by the platform',
  load_format: 'weights are loaded the default way from model_source',
  hf_overrides: 'may change what code is loaded',
};

export type EngineKwargs = Record<string, number | string | boolean>;

export function engineKwargsSchema(allowStandInKnobs: boolean) {
  const shape = allowStandInKnobs ? { ...ALLOWED_ENGINE_KWARGS, ...STAND_IN_ENGINE_KWARGS } : ALLOWED_ENGINE_KWARGS;
  return z
    .record(z.string(), z.unknown())
    .superRefine((value, ctx) => {
      for (const [key, item] of Object.entries(value)) {
        const refusal = REFUSED_ENGINE_KWARGS[key];
        const schema = (shape as Record<string, z.ZodType>)[key];
        if (refusal) {
          ctx.addIssue({ code: 'custom', path: [key], message: `engine_kwargs.${key} is not allowed: ${refusal}` });
        } else if (!schema) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `engine_kwargs.${key} is not an allowed engine argument (allowed: ${Object.keys(shape).join(', ')})`,
          });
        } else {
          const result = schema.safeParse(item);
          if (!result.success) {
            ctx.addIssue({ code: 'custom', path: [key], message: `engine_kwargs.${key}: ${result.error.issues[0]?.message}` });
          }
        }
      }
    })
    .transform((value) => value as EngineKwargs);
}

/**
 * The allowlist as JSON Schema, for the OpenAPI document: generated from the same zod shapes
 * the validator uses. `nullable` adds null to each value (a PATCH removes a key with null).
 * The CPU stand-in's knobs are left out: they exist only where the stand-in is configured.
 */
export function engineKwargsJsonSchema(nullable: boolean): Record<string, unknown> {
  const shape = Object.fromEntries(
    Object.entries(ALLOWED_ENGINE_KWARGS).map(([key, schema]) => [key, nullable ? (schema as z.ZodType).nullable() : schema]),
  );
  const { $schema: _ignored, ...jsonSchema } = z.toJSONSchema(z.object(shape).partial().strict()) as Record<string, unknown>;
  return jsonSchema;
}
