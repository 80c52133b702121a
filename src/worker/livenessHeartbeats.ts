import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';
import type { ModelActivities } from '../activities';

/**
 * Activities that cannot report progress of their own (a Postgres write, a PUT to Ray) still
 * get a heartbeat timeout from the workflow. Without one, a worker killed in the middle of such
 * an activity leaves it "running" until its start-to-close timeout (minutes) before another
 * worker retries it; with one, the retry starts within seconds. This interceptor sends those
 * heartbeats while the activity runs, so they prove only that the worker process is alive.
 * Activities that heartbeat their own progress (the readiness watch) are left alone: an empty
 * heartbeat would replace the progress the Temporal UI shows.
 */
export const LIVENESS_ONLY_ACTIVITIES: ReadonlySet<string> = new Set<keyof ModelActivities>(['recordModelEvent', 'applyModelToCluster', 'observeCluster', 'repairCluster', 'admitModel', 'releaseModel']);

export function livenessHeartbeats(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const timeoutMs = ctx.info.heartbeatTimeoutMs;
        if (!timeoutMs || !LIVENESS_ONLY_ACTIVITIES.has(ctx.info.activityType)) return next(input);
        const timer = setInterval(() => ctx.heartbeat(), Math.max(100, Math.floor(timeoutMs / 3)));
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  };
}
