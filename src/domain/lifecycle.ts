/**
 * The model lifecycle: states a model moves through and the events that record each step.
 * Pure data, imported by workflows as well as the API.
 *
 *   QUEUED -> DEPLOYING -> RUNNING          (a change to a RUNNING model goes QUEUED again)
 *                     \-> FAILED            (first deploy failed; removed from the cluster)
 *   RUNNING <-> DEGRADED                    (the cluster stopped serving it as asked; healed by Ray
 *                                            itself or by a repair, never silently RUNNING)
 *   any    -> DELETING -> DELETED
 */
export const MODEL_STATES = ['QUEUED', 'DEPLOYING', 'RUNNING', 'DEGRADED', 'FAILED', 'DELETING', 'DELETED'] as const;
export type ModelState = (typeof MODEL_STATES)[number];

export const EVENT_TYPES = [
  'DEPLOY_REQUESTED', // a spec was accepted (create, upsert or retry)
  'SCALE_REQUESTED', // num_replicas changed by PATCH
  'DELETE_REQUESTED',
  'ADMISSION_WAITING', // the cluster's GPUs cannot take the revision now: it waits in line (first come first served)
  'ADMITTED', // it fits now: the rollout goes on
  'APPLY_STARTED', // the desired cluster config is being written to Ray
  'APPLY_SUCCEEDED', // Ray accepted the config
  'READINESS_PROGRESS', // replicas ready x/y, last Ray message (recorded when it changes)
  'RUNNING', // all three readiness checks passed
  'DEPLOY_SUPERSEDED', // a newer request arrived while a rollout waited; the newer one goes next
  'DEPLOY_FAILED', // a rollout failed; payload carries Ray's whole message
  'ROLLBACK_STARTED', // restoring the last good revision
  'ROLLED_BACK', // the last good revision serves again
  'REMOVED_FROM_CLUSTER', // a failed first deploy was taken off the cluster, GPUs freed
  'REVISION_READY', // a new revision started beside the serving one passed its checks (blue/green)
  'TRAFFIC_SWITCHED', // the ingress routes the model to the new revision
  'REVISION_RETIRED', // the previous revision's app was removed
  'REVISION_DISCARDED', // a new revision that failed was removed; the serving one never stopped
  'SURGE_UNAVAILABLE', // the cluster cannot hold both revisions: the rollout replaces the model in place
  'COLD_START_FAILED', // a model scaled to zero could not start a replica for a request; then healed as a drift
  'DRIFT_DETECTED', // the reconciler saw the model served other than asked (app missing, unhealthy, replicas short)
  'REPAIR_STARTED', // the model's last good revision is applied again (Ray did not recover it by itself)
  'REPAIR_FAILED', // a repair did not bring the model back; retried with backoff
  'HEALED', // serving as asked again, by Ray's own recovery or by a repair
  'DELETED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** States from which nothing more happens without a new request. */
export const SETTLED_STATES: ReadonlySet<ModelState> = new Set(['RUNNING', 'FAILED', 'DELETED']);
