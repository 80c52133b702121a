import { ApplicationFailure, Context } from '@temporalio/activity';
import { LOGICAL_ROOT } from '../domain/modelSourcePath';
import { RayRequestError } from '../ray/dashboardClient';
import { deploymentNameFor } from '../ray/serveConfig';
import { assessModel, summarizeRayMessage } from '../ray/serveStatus';
import type { ActivityDependencies } from './dependencies';

export interface ReadinessProgress {
  readyReplicas: number;
  targetReplicas: number;
  /** The check the model is waiting on, in words: Ray's message, "not listed by /v1/models", ... */
  message: string;
}

export interface WatchReadinessInput {
  modelId: string;
  targetReplicas: number;
  rolloutMarker: string;
  /** Workflow-time deadline (epoch ms) after which the rollout has failed. */
  deadlineMs: number;
  /** Progress the workflow last recorded; the activity returns as soon as it changes. */
  lastProgress: ReadinessProgress | null;
  /** Longest time to watch before reporting back even without a change. */
  maxWatchMs: number;
}

export type WatchReadinessResult = { ready: true; progress: ReadinessProgress } | { ready: false; progress: ReadinessProgress };

/**
 * The first status poll after a change comes soon and the pause doubles up to the poll interval:
 * a small model is often ready a poll or two after Ray takes the config, a large one takes
 * minutes either way. Polls never overlap, so on a large cluster (a status read of 150 ms at
 * 5,000 models) the reads space themselves out.
 */
const FIRST_POLL_DELAY_MS = 10;
/**
 * A rollout's first progress is reported to the workflow (an event, a workflow task) only once it
 * has lasted this long: the moments right after a PUT, while Ray picks the config up, are not news.
 */
const FIRST_REPORT_AFTER_MS = 1_000;

const sameProgress = (a: ReadinessProgress | null, b: ReadinessProgress) =>
  a !== null && a.readyReplicas === b.readyReplicas && a.targetReplicas === b.targetReplicas && a.message === b.message;

/**
 * Watches one model until it is ready (all three checks, plus the engine's own health probes
 * where configured), its progress changes, or the watch
 * window ends. Heartbeats carry the progress so the Temporal UI shows what the rollout waits on.
 * Ray failing the deployment, or the deadline passing, fails the rollout for good.
 */
export function watchReadinessActivity(deps: ActivityDependencies) {
  return async function watchReadiness(input: WatchReadinessInput): Promise<WatchReadinessResult> {
    const context = Context.current();
    const deploymentName = deploymentNameFor(input.modelId, deps.render.serverCls);
    const watchUntil = Date.now() + input.maxWatchMs;
    let last: ReadinessProgress = input.lastProgress ?? { readyReplicas: 0, targetReplicas: input.targetReplicas, message: 'starting the readiness checks' };
    // One round makes up to four network calls; each is preceded by a heartbeat carrying the last
    // progress, so a slow round cannot outlast the heartbeat timeout and be retried from scratch forever.
    const beat = () => context.heartbeat(last);
    const startedAt = Date.now();
    let pollDelayMs = Math.min(FIRST_POLL_DELAY_MS, deps.pollIntervalMs);
    for (;;) {
      const progress = await checkOnce(deps, input, deploymentName, beat);
      if (progress === 'ready') return { ready: true, progress: { readyReplicas: input.targetReplicas, targetReplicas: input.targetReplicas, message: 'ready' } };
      last = progress;
      context.heartbeat(progress);
      if (Date.now() >= input.deadlineMs) {
        throw ApplicationFailure.nonRetryable(
          `not ready within the readiness deadline: ${progress.message} (replicas ready ${progress.readyReplicas}/${progress.targetReplicas})`,
          'ReadinessDeadlineExceeded',
          { progress },
        );
      }
      const worthReporting = input.lastProgress !== null || Date.now() - startedAt >= FIRST_REPORT_AFTER_MS;
      if ((worthReporting && !sameProgress(input.lastProgress, progress)) || Date.now() >= watchUntil) return { ready: false, progress };
      await context.sleep(pollDelayMs);
      pollDelayMs = Math.min(pollDelayMs * 2, deps.pollIntervalMs);
    }
  };
}

/** Users see logical paths only; Ray's messages name the storage root the node reads from. */
const hideStorageRoot = (text: string, deps: ActivityDependencies) => text.split(deps.render.storageRoot).join(LOGICAL_ROOT);

async function checkOnce(deps: ActivityDependencies, input: WatchReadinessInput, deploymentName: string, beat: () => void): Promise<ReadinessProgress | 'ready'> {
  let details;
  beat();
  try {
    details = await deps.dashboard.getDeploymentDetails(deps.render.appName, deploymentName);
  } catch (err) {
    if (err instanceof RayRequestError) return { readyReplicas: 0, targetReplicas: input.targetReplicas, message: err.message };
    throw err;
  }
  const assessment = assessModel(details, deps.render.appName, deploymentName, input.targetReplicas, input.rolloutMarker);
  switch (assessment.phase) {
    case 'failed': {
      const message = hideStorageRoot(assessment.message, deps);
      throw ApplicationFailure.nonRetryable(summarizeRayMessage(message), 'RayDeploymentFailed', { ray_message: message });
    }
    case 'absent':
      return { readyReplicas: 0, targetReplicas: input.targetReplicas, message: assessment.message };
    case 'progressing':
      return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: hideStorageRoot(assessment.message, deps) };
    case 'healthy': {
      beat();
      const listed = await deps.ingress.listsModel(input.modelId);
      if (!listed.ok) return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: listed.detail };
      beat();
      const chat = await deps.ingress.answersChat(input.modelId);
      if (!chat.ok) return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: chat.detail };
      // Then the engine's own health endpoints, where the platform names some for its engine.
      const probes = deps.engineProbes ?? { baseUrl: '', paths: [] };
      for (const path of probes.paths) {
        beat();
        const probe = await deps.ingress.answersProbe(probes.baseUrl, path, input.modelId);
        if (!probe.ok) return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: probe.detail };
      }
      return 'ready';
    }
  }
}

/** Waits until the model's deployment is gone (its GPUs are free) and the ingress no longer lists it. */
export function waitForRemovalActivity(deps: ActivityDependencies) {
  return async function waitForRemoval(input: { modelId: string }): Promise<void> {
    const context = Context.current();
    const deploymentName = deploymentNameFor(input.modelId, deps.render.serverCls);
    let message = 'asking Ray whether the deployment is gone';
    for (;;) {
      context.heartbeat({ message }); // before each call, as in the readiness watch
      try {
        const details = await deps.dashboard.getDeploymentDetails(deps.render.appName, deploymentName);
        const app = details.applications[deps.render.appName];
        if (!app?.deployments[deploymentName]) {
          // The ingress is rebuilt after the deployment goes; until then it still lists the model.
          context.heartbeat({ message });
          const listed = await deps.ingress.listsModel(input.modelId);
          if (!listed.ok) return;
          message = 'deployment gone; waiting for the ingress to stop listing the model';
        } else message = `deployment ${deploymentName} is ${app.deployments[deploymentName]?.status}`;
      } catch (err) {
        if (!(err instanceof RayRequestError)) throw err;
        message = err.message;
      }
      await context.sleep(deps.pollIntervalMs);
    }
  };
}
