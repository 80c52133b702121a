import { z } from 'zod';

/** One Ray node as the dashboard's state API lists it (`GET /api/v0/nodes`), narrowed to what placement needs. */
export interface ClusterNode {
  nodeId: string;
  isHead: boolean;
  gpus: number;
  /** `accelerator_type:<type>` resources the node declares, by type. */
  acceleratorTypes: string[];
}

const nodesResponseSchema = z.object({
  data: z.object({
    result: z.object({
      result: z.array(
        z
          .object({
            node_id: z.string(),
            state: z.string(),
            is_head_node: z.boolean().optional(),
            resources_total: z.record(z.string(), z.number()).optional(),
          })
          .passthrough(),
      ),
    }),
  }),
});

const ACCELERATOR_RESOURCE = 'accelerator_type:';

/** The alive nodes of a `GET /api/v0/nodes` answer (a dead node holds no replica). */
export function aliveNodesIn(raw: unknown): ClusterNode[] {
  return nodesResponseSchema
    .parse(raw)
    .data.result.result.filter((n) => n.state === 'ALIVE')
    .map((n) => {
      const resources = n.resources_total ?? {};
      return {
        nodeId: n.node_id,
        isHead: n.is_head_node ?? false,
        gpus: Math.floor(resources.GPU ?? 0),
        acceleratorTypes: Object.keys(resources)
          .filter((k) => k.startsWith(ACCELERATOR_RESOURCE))
          .map((k) => k.slice(ACCELERATOR_RESOURCE.length)),
      };
    });
}

/**
 * GPUs per accelerator type: a node counts toward each type it declares
 * (`accelerator_type:<type>`); one that declares none toward `defaultType`.
 */
export function gpusByAccelerator(nodes: readonly ClusterNode[], defaultType: string | null): Record<string, number> {
  const capacity: Record<string, number> = {};
  for (const node of nodes) {
    if (node.gpus === 0) continue;
    const types = node.acceleratorTypes.length > 0 ? node.acceleratorTypes : [defaultType ?? 'any'];
    for (const type of types) capacity[type] = (capacity[type] ?? 0) + node.gpus;
  }
  return capacity;
}
