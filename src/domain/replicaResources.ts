import { z } from 'zod';
import { unprocessable } from './apiError';

/**
 * CPU and memory one replica asks Ray for (both reference systems let users size them). They
 * join the replica's own placement bundle, so Ray places a replica only where they are free.
 */
export interface ReplicaResources {
  cpus_per_replica?: number;
  memory_gib_per_replica?: number;
}

export const MAX_CPUS_PER_REPLICA = 512;
export const MAX_MEMORY_GIB_PER_REPLICA = 4096;

/** Numbers of any value pass the schema: a value out of range is 422 below, a wrong type 400. */
export const resourcesInputSchema = z
  .object({
    cpus_per_replica: z.number().describe(`CPUs of the replica process, above 0 and at most ${MAX_CPUS_PER_REPLICA} (fractions allowed)`).optional(),
    memory_gib_per_replica: z.number().describe(`Memory of the replica process in GiB, above 0 and at most ${MAX_MEMORY_GIB_PER_REPLICA}`).optional(),
  })
  .strict()
  .meta({ id: 'ReplicaResources', example: { cpus_per_replica: 4, memory_gib_per_replica: 32 } });

function positiveAtMost(field: string, value: number | undefined, max: number): void {
  if (value === undefined) return;
  if (!(value > 0 && value <= max)) {
    throw unprocessable('invalid_resources', `resources.${field} must be above 0 and at most ${max} (got ${value})`, { field: `resources.${field}` });
  }
}

export function checkResources(input: z.infer<typeof resourcesInputSchema>): ReplicaResources {
  positiveAtMost('cpus_per_replica', input.cpus_per_replica, MAX_CPUS_PER_REPLICA);
  positiveAtMost('memory_gib_per_replica', input.memory_gib_per_replica, MAX_MEMORY_GIB_PER_REPLICA);
  return { ...input };
}

/** Ray takes memory in bytes. */
export const gibToBytes = (gib: number): number => Math.round(gib * 2 ** 30);
