import { acceleratorTypesOf, type AppConfig } from '../config/config';
import { DEFAULT_NODE_GPUS, type SpecPlatform } from '../domain/servingSpec';
import { type ClusterNode, gpusByAccelerator } from '../ray/clusterNodes';
import type { RayDashboardClient } from '../ray/dashboardClient';
import { logger } from '../observability/logger';

/**
 * What a spec is validated against: the accelerator types and storage from the config, and the
 * cluster's nodes from Ray, read at most once per `ttlMs`. While Ray cannot be read a spec is
 * still accepted (the workflow waits for Ray), against one node of DEFAULT_NODE_GPUS: a replica
 * larger than that is refused until the nodes are known again.
 */
export class SpecPlatformSource {
  private cached: { at: number; nodes: Promise<ClusterNode[] | null> } | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly dashboard: Pick<RayDashboardClient, 'getNodes'>,
    private readonly ttlMs = 10_000,
  ) {}

  async get(): Promise<SpecPlatform> {
    const nodes = await this.nodes();
    return {
      acceleratorTypes: acceleratorTypesOf(this.config),
      nodeGpus: nodes === null ? [DEFAULT_NODE_GPUS] : nodes.map((n) => n.gpus).filter((g) => g > 0),
      nodesKnown: nodes !== null,
      ...(nodes !== null ? { acceleratorGpus: gpusByAccelerator(nodes, this.config.serving.llm.accelerator_type) } : {}),
      storageRoot: this.config.serving.storage_root,
    };
  }

  /** The cluster's alive nodes, or null while Ray cannot be read. */
  nodes(): Promise<ClusterNode[] | null> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > this.ttlMs) {
      const read: Promise<ClusterNode[] | null> = this.dashboard.getNodes().catch((err: Error) => {
        logger.warn({ err: err.message }, 'cluster nodes not readable; specs are checked against one node of the default size');
        if (this.cached?.nodes === read) this.cached = null; // asked again next time rather than remembered for the whole ttl
        return null;
      });
      this.cached = { at: now, nodes: read };
    }
    return this.cached.nodes;
  }
}
