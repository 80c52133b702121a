import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ModelState } from '../domain/lifecycle';
import type { ScaleRequest, ServingSpec } from '../domain/servingSpecTypes';

/**
 * Why updates and not signals: the API must answer 202 only for a request the workflow has
 * really taken, and must answer 409 when the workflow refuses one (a model being deleted).
 * An update is acknowledged by the workflow itself, after its validator ran and the request's
 * event was recorded; a signal is acknowledged by the server before the workflow sees it.
 * The first deploy uses update-with-start, so creating the workflow and handing it the spec
 * is one atomic, idempotent call.
 */
export interface RequestAck {
  model_key: string;
  state: ModelState;
  revision: number;
  /** False when the request changed nothing (an identical re-POST), so no rollout starts. */
  changed: boolean;
}

export const deployUpdate = defineUpdate<RequestAck, [ServingSpec]>('deploy');
export type { ScaleRequest };

export const scaleUpdate = defineUpdate<RequestAck, [ScaleRequest]>('scale');
export const deleteUpdate = defineUpdate<RequestAck, []>('delete');

export interface ModelView {
  model_key: string;
  model_id: string;
  state: ModelState;
  revision: number;
  spec: ServingSpec;
  error_summary: string | null;
  /** Revision serving traffic, if any. */
  serving_revision: number | null;
  /** What the current phase is waiting on, e.g. "replicas ready 1/2". */
  details: string;
}

export const modelQuery = defineQuery<ModelView>('model');

/**
 * What the cluster's reconciler saw of a RUNNING or DEGRADED model, sent when it changes (and
 * again, as a reminder, while the model's state still says otherwise). A signal: the
 * reconciler needs no answer, and a model that is gone just does not get it.
 * - healthy: served as asked;
 * - degraded: a deployment UNHEALTHY, or fewer replicas RUNNING than asked for longer than the grace period;
 * - missing: its app is not on the cluster at all (nothing Ray will recover by itself).
 */
export interface HealthNotice {
  health: 'healthy' | 'degraded' | 'missing';
  /** Ray's message, or what is missing, in words. */
  message: string;
  running: number;
  target: number;
  /** Ray waits for resources to place replicas (a lost node): restarting would not make room. */
  unscheduled?: boolean;
  /** A model scaled to zero could not start a replica for a request (Ray keeps retrying). */
  coldStartFailed?: boolean;
  /** Ray is starting a replica in place of a failed one: a restart would only begin that start again. */
  replacing?: boolean;
  /** When the reconciler saw it (epoch ms): a notice older than the model's last rollout is stale. */
  observedAt: number;
}

export const healthNoticeSignal = defineSignal<[HealthNotice]>('healthNotice');
