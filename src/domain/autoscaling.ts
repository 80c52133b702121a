import { z } from 'zod';
import { unprocessable } from './apiError';

/**
 * A replica range instead of a fixed count (Alaya's `scale`: min/max/rpsValue/idleTime). Ray
 * Serve adds replicas while the ongoing requests per replica stay above the target and removes
 * them when below; `min_replicas: 0` lets an idle model scale to zero after `idle_timeout_s`,
 * and the next request starts a replica again (a cold start).
 */
export interface AutoscalingSpec {
  min_replicas: number;
  max_replicas: number;
  /** Ongoing requests per replica Ray Serve aims for. */
  target_ongoing_requests: number;
  /** Seconds without requests before a model with min_replicas 0 scales to zero. */
  idle_timeout_s: number;
}

export const MAX_AUTOSCALED_REPLICAS = 64;
export const DEFAULT_TARGET_ONGOING_REQUESTS = 8;
export const DEFAULT_IDLE_TIMEOUT_S = 300;
export const MIN_IDLE_TIMEOUT_S = 10;
export const MAX_IDLE_TIMEOUT_S = 7 * 24 * 3600;
export const MAX_TARGET_ONGOING_REQUESTS = 10_000;

/**
 * As users write it. Every number is accepted by the schema so that a value out of range is
 * answered 422 by `checkAutoscaling` while a wrong type is 400.
 */
export const autoscalingInputSchema = z
  .object({
    min_replicas: z.number().describe(`Fewest replicas, 0-${MAX_AUTOSCALED_REPLICAS}; 0 scales to zero when idle (default 1)`).optional(),
    max_replicas: z.number().describe(`Most replicas, 1-${MAX_AUTOSCALED_REPLICAS}, at least min_replicas`),
    target_ongoing_requests: z
      .number()
      .describe(`Ongoing requests per replica to aim for, above 0 and at most ${MAX_TARGET_ONGOING_REQUESTS} (default ${DEFAULT_TARGET_ONGOING_REQUESTS})`)
      .optional(),
    idle_timeout_s: z
      .number()
      .describe(`Seconds without requests before scaling to zero, ${MIN_IDLE_TIMEOUT_S}-${MAX_IDLE_TIMEOUT_S} (default ${DEFAULT_IDLE_TIMEOUT_S}); used when min_replicas is 0`)
      .optional(),
  })
  .strict()
  .meta({ id: 'Autoscaling', example: { min_replicas: 0, max_replicas: 4, target_ongoing_requests: 8, idle_timeout_s: 300 } });

export type AutoscalingInput = z.infer<typeof autoscalingInputSchema>;

const outOfRange = (field: string, rule: string, got: number) =>
  unprocessable('invalid_resources', `autoscaling.${field} must be ${rule} (got ${got})`, { field: `autoscaling.${field}` });

function wholeNumberIn(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(field, `a whole number from ${min} to ${max}`, value);
}

/** Fills the defaults and checks every bound, naming the field at fault. */
export function checkAutoscaling(input: AutoscalingInput): AutoscalingSpec {
  const min = input.min_replicas ?? 1;
  wholeNumberIn('min_replicas', min, 0, MAX_AUTOSCALED_REPLICAS);
  wholeNumberIn('max_replicas', input.max_replicas, 1, MAX_AUTOSCALED_REPLICAS);
  if (input.max_replicas < min) {
    throw unprocessable('invalid_resources', `autoscaling.max_replicas (${input.max_replicas}) must be at least min_replicas (${min})`, { field: 'autoscaling.max_replicas' });
  }
  const target = input.target_ongoing_requests ?? DEFAULT_TARGET_ONGOING_REQUESTS;
  if (!(target > 0 && target <= MAX_TARGET_ONGOING_REQUESTS)) throw outOfRange('target_ongoing_requests', `above 0 and at most ${MAX_TARGET_ONGOING_REQUESTS}`, target);
  const idle = input.idle_timeout_s ?? DEFAULT_IDLE_TIMEOUT_S;
  wholeNumberIn('idle_timeout_s', idle, MIN_IDLE_TIMEOUT_S, MAX_IDLE_TIMEOUT_S);
  return { min_replicas: min, max_replicas: input.max_replicas, target_ongoing_requests: target, idle_timeout_s: idle };
}

export { replicasAtStart } from './servingSpecTypes';
