import { admit, noteWaitingReason, releaseAdmission } from '../db/admissions';
import { type ClusterNode, gpusByAccelerator } from '../ray/clusterNodes';
import type { ActivityDependencies } from './dependencies';

/** How long one read of Ray's nodes stands for the cluster's capacity. */
const NODES_FRESH_MS = 1_000;

export interface AdmitModelInput {
  modelKey: string;
  /** The spec's accelerator type; null: the platform's default. */
  accelerator: string | null;
  /** GPUs the revision reserves (max replicas x gpus_per_replica). */
  gpus: number;
  /** Take the GPUs whatever the line: a rollback to what already ran on the cluster. */
  force?: boolean;
}

export interface AdmitModelResult {
  admitted: boolean;
  /** Why it waits, in words: "waiting for 4 H20 GPUs (2 free, 1 model ahead)". */
  reason: string;
  ahead: number;
}

/**
 * One look at whether the cluster's GPUs can take the revision now (Ray's nodes read once, the
 * line moved under a lock in Postgres). A Ray that cannot be read fails the activity, which is
 * retried: nothing is placed before it is known to fit.
 */
export function admitModelActivity(deps: ActivityDependencies) {
  // A storm of rollouts asks about the same nodes: one read serves those of the next second.
  let nodes: { at: number; read: Promise<ClusterNode[]> } | null = null;
  const clusterNodes = (): Promise<ClusterNode[]> => {
    if (!nodes || Date.now() - nodes.at > NODES_FRESH_MS) {
      const read = deps.dashboard.getNodes();
      read.catch(() => {
        if (nodes?.read === read) nodes = null; // a failed read is not remembered (a newer one is kept)
      });
      nodes = { at: Date.now(), read };
    }
    return nodes.read;
  };
  return async function admitModel(input: AdmitModelInput): Promise<AdmitModelResult> {
    const accelerator = input.accelerator ?? deps.render.acceleratorType ?? 'any';
    const capacity = gpusByAccelerator(await clusterNodes(), deps.render.acceleratorType)[accelerator] ?? 0;
    const verdict = await admit(deps.pool, { clusterId: deps.clusterId, modelKey: input.modelKey, accelerator, wanted: input.gpus, capacity, force: input.force === true });
    if (verdict.admitted) return { admitted: true, reason: '', ahead: 0 };
    const ahead = verdict.ahead === 0 ? 'none ahead' : `${verdict.ahead} model${verdict.ahead === 1 ? '' : 's'} ahead`;
    const reason = `waiting for ${verdict.missing} ${accelerator} GPU${verdict.missing === 1 ? '' : 's'} (${verdict.free} free, ${ahead})`;
    await noteWaitingReason(deps.pool, input.modelKey, reason);
    return { admitted: false, reason, ahead: verdict.ahead };
  };
}

/** The model is off the cluster: its GPUs go to the next in line. */
export function releaseModelActivity(deps: ActivityDependencies) {
  return async function releaseModel(input: { modelKey: string }): Promise<void> {
    await releaseAdmission(deps.pool, input.modelKey);
  };
}
