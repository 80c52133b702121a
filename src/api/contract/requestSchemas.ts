import { z } from 'zod';
import { autoscalingInputSchema } from '../../domain/autoscaling';
import { engineKwargsJsonSchema } from '../../domain/engineKwargs';
import { userIdSchema } from '../../domain/naming';
import { MAX_REPLICAS, wholeNumber } from '../../domain/servingSpec';

/**
 * PATCH body: a scale (`num_replicas` makes the model fixed-size, `autoscaling` makes it
 * autoscaled) and/or a change of allowlisted `engine_kwargs`, merged into the model's current
 * ones (a key set to null removes it). Everything else is refused by name; `gpus_per_replica`,
 * `model_source` and the other spec fields change only through a POST of the whole spec.
 */
export const patchModelSchema = z
  .object({
    num_replicas: z.number().describe(`New replica count, 1-${MAX_REPLICAS}; an autoscaled model becomes fixed-size`).meta({ override: wholeNumber(1, MAX_REPLICAS) }).optional(),
    autoscaling: autoscalingInputSchema.describe('A new replica range (the whole of it); a fixed-size model becomes autoscaled').optional(),
    engine_kwargs: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]))
      .describe('Allowlisted vLLM engine arguments merged into the current ones; null removes a key')
      .meta({ override: ({ jsonSchema }) => void Object.assign(jsonSchema, engineKwargsJsonSchema(true)) })
      .optional(),
  })
  .strict()
  // "At least one field" is checked in the route; the document says it too.
  .meta({ id: 'PatchModel', example: { num_replicas: 2 }, override: { minProperties: 1 } });

export type PatchModel = z.infer<typeof patchModelSchema>;

export const createUserSchema = z.object({ user_id: userIdSchema }).strict().meta({ id: 'CreateUser', example: { user_id: 'alice' } });

/** PUT /api/v2/users/{user_id}/quota: the user's limits (null: no limit); both are set at once. */
export const quotaSchema = z
  .object({
    max_gpus: z.int().min(0).max(1_000_000).nullable().describe('GPUs the user\'s models may reserve (max replicas x gpus_per_replica each); null: no limit'),
    max_models: z.int().min(0).max(1_000_000).nullable().describe('Models the user may have (not deleted); null: no limit'),
  })
  .strict()
  .meta({ id: 'Quota', example: { max_gpus: 8, max_models: 4 } });
