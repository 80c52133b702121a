/**
 * The validated ServingSpec as workflows carry it, and the pure operations on it. Kept apart from
 * the validation (servingSpec.ts, which reads files and uses zod) so that workflow code can use
 * it: nothing here does I/O or imports more than types.
 */
import type { AutoscalingSpec } from './autoscaling';
import type { EngineKwargs } from './engineKwargs';
import type { Parallelism } from './parallelism';
import type { ReplicaEnv } from './replicaEnv';
import type { ReplicaResources } from './replicaResources';

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
  // The fields below are optional so that specs stored (and workflow histories written) before
  // they existed still read as they were.
  /** A replica range instead of a fixed count; num_replicas then holds the replicas a rollout starts with. */
  autoscaling?: AutoscalingSpec | null;
  env?: ReplicaEnv;
  resources?: ReplicaResources | null;
  /** Null: the platform's default type. */
  accelerator_type?: string | null;
  description?: string | null;
  /** The repo id model_source was resolved from (model_source holds the snapshot's logical path). */
  model_repo?: ModelRepoRef | null;
  /** How gpus_per_replica is split; absent: all tensor parallel on one node. */
  parallelism?: Parallelism;
}

export interface ModelRepoRef {
  repo_id: string;
  revision: string;
  commit: string;
}

/**
 * The replicas a rollout starts and waits for: a new revision must prove it loads and answers,
 * so even a model that may scale to zero starts with one replica (and scales to zero once idle).
 */
export function replicasAtStart(autoscaling: AutoscalingSpec): number {
  return Math.max(autoscaling.min_replicas, 1);
}

/** The layout a spec's GPUs run in (specs stored before multi-node replicas: all on one node). */
export function parallelismOf(spec: ServingSpec): Parallelism {
  return spec.parallelism ?? { tensor_parallel_size: spec.gpus_per_replica, pipeline_parallel_size: 1 };
}

/** Replicas a fixed spec keeps, or the floor of an autoscaled one: fewer RUNNING than this is short. */
export function replicaFloor(spec: ServingSpec): number {
  return spec.autoscaling ? spec.autoscaling.min_replicas : spec.num_replicas;
}

/** A new replica count (the model becomes fixed-size) or a new range (it becomes autoscaled). */
export type ScaleRequest = { num_replicas: number; autoscaling?: undefined } | { autoscaling: AutoscalingSpec; num_replicas?: undefined };

/** The spec with a scale applied. */
export function withScale(spec: ServingSpec, request: ScaleRequest): ServingSpec {
  const { autoscaling: _previous, ...rest } = spec;
  if (request.autoscaling) return { ...rest, autoscaling: request.autoscaling, num_replicas: replicasAtStart(request.autoscaling) };
  return { ...rest, num_replicas: request.num_replicas as number };
}

/** The spec as events may show it: env values may be secrets, so only their names are kept. */
export function specForEvents(spec: ServingSpec): Record<string, unknown> {
  const { env, ...rest } = spec;
  return env && Object.keys(env).length > 0 ? { ...rest, env_names: Object.keys(env).sort() } : rest;
}

/** Two specs are the same request when their JSON is, whatever the order of keys. */
export function sameSpec(a: ServingSpec, b: ServingSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}
