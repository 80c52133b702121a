import { unprocessable } from './apiError';

/**
 * How one replica's GPUs are split: tensor parallel within a node, pipeline parallel across
 * nodes (Ray Serve LLM places one bundle per GPU in the replica's placement group, and vLLM's
 * Ray executor runs one pipeline stage per node). A replica that fits one node stays on one.
 */
export interface Parallelism {
  tensor_parallel_size: number;
  pipeline_parallel_size: number;
}

/**
 * The layout of a replica of `gpus` GPUs on nodes with `nodeGpus` GPUs each: the widest tensor
 * parallel group that divides `gpus` and for which enough nodes have that many GPUs (fewer
 * stages cross fewer nodes). Null when no layout fits.
 */
export function layoutFor(gpus: number, nodeGpus: readonly number[]): Parallelism | null {
  const widest = Math.max(0, ...nodeGpus);
  if (gpus <= widest) return { tensor_parallel_size: gpus, pipeline_parallel_size: 1 };
  for (let tensor = widest; tensor >= 1; tensor -= 1) {
    if (gpus % tensor !== 0) continue;
    const stages = gpus / tensor;
    if (nodeGpus.filter((n) => n >= tensor).length >= stages) return { tensor_parallel_size: tensor, pipeline_parallel_size: stages };
  }
  return null;
}

/** The most GPUs one replica can have on these nodes. */
export function largestReplica(nodeGpus: readonly number[]): number {
  let best = 0;
  for (const tensor of new Set(nodeGpus)) best = Math.max(best, tensor * nodeGpus.filter((n) => n >= tensor).length);
  return best;
}

/** The layout for a spec's gpus_per_replica, or 422 naming the cluster's nodes and the largest replica they hold. */
export function parallelismFor(gpus: number, nodeGpus: readonly number[]): Parallelism {
  const layout = layoutFor(gpus, nodeGpus);
  if (layout) return layout;
  const largest = largestReplica(nodeGpus);
  const nodes = nodeGpus.length === 0 ? 'no node with GPUs' : `${nodeGpus.length} node${nodeGpus.length === 1 ? '' : 's'} with ${nodeGpus.join(', ')} GPUs`;
  const widest = Math.max(0, ...nodeGpus);
  throw unprocessable(
    'invalid_resources',
    `gpus_per_replica ${gpus} does not fit the cluster (${nodes}): a replica larger than one node spans nodes in equal stages of up to ${widest} GPUs each, at most ${largest} GPUs in all`,
    { field: 'gpus_per_replica' },
  );
}
