import { ApplicationFailure, Context } from '@temporalio/activity';
import { readClusterEntryConfig } from '../db/clusterModels';
import { toLogicalText } from '../domain/modelSourcePath';
import { isPlacement } from '../ray/clusterLayout';
import { RayRequestError } from '../ray/dashboardClient';
import { modelAppPrefix, routedApp } from '../ray/modelPlacement';
import { deploymentNameFor } from '../ray/serveConfig';
import { isGenericEngineFailure, rootCauseInLog } from '../ray/engineRootCause';
import { assessModel, ServeDetails, summarizeRayMessage } from '../ray/serveStatus';
import type { ActivityDependencies } from './dependencies';

export interface ReadinessProgress {
  readyReplicas: number;
  targetReplicas: number;
  /** The check the model is waiting on, in words: Ray's message, "not listed by /v1/models", ... */
  message: string;
  /** Ray reports replicas it cannot place (the cluster lacks the resources for them now). */
  unscheduled?: boolean;
}

/**
 * How the user-visible checks reach the revision being watched:
 * - ingress: it is the model's routed revision; /v1/models must list it and a 1-token chat
 *   through the ingress must be answered;
 * - revision: a candidate not yet routed to; the 1-token chat goes to its app directly;
 * - switch: the ingress was just told to route to it; it must report that route, then list the
 *   model and answer a chat.
 */
export type ReadinessVia = 'ingress' | 'revision' | 'switch';

export interface WatchReadinessInput {
  modelId: string;
  /** Replicas that must be RUNNING; for an autoscaled model its floor (Ray's target moves with the load). */
  targetReplicas: number;
  autoscaled?: boolean;
  rolloutMarker: string;
  /** Workflow-time deadline (epoch ms) after which the rollout has failed. */
  deadlineMs: number;
  /** Progress the workflow last recorded; the activity returns as soon as it changes. */
  lastProgress: ReadinessProgress | null;
  /** Longest time to watch before reporting back even without a change. */
  maxWatchMs: number;
  /** The model's key; with it, a watch that is not told its app looks it up. */
  modelKey?: string;
  /** The app and deployment to watch, as the apply step reported them. */
  appName?: string;
  deploymentName?: string;
  via?: ReadinessVia;
}

/** The app and deployment a watch looks at: as given, else the model's routed app, else the single app of the previous layout. */
async function watchedDeployment(deps: ActivityDependencies, input: { modelId: string; modelKey?: string; appName?: string; deploymentName?: string }) {
  if (input.appName && input.deploymentName) return { appName: input.appName, deploymentName: input.deploymentName };
  const entry = input.modelKey ? await readClusterEntryConfig(deps.pool, deps.clusterId, input.modelKey) : null;
  if (entry && isPlacement(entry)) {
    const app = routedApp(entry);
    return { appName: app.app_name, deploymentName: app.deployment.name };
  }
  return { appName: deps.render.appName, deploymentName: deploymentNameFor(input.modelId, deps.render.engine.server_cls) };
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
    const target = await watchedDeployment(deps, input);
    const watchUntil = Date.now() + input.maxWatchMs;
    let last: ReadinessProgress = input.lastProgress ?? { readyReplicas: 0, targetReplicas: input.targetReplicas, message: 'starting the readiness checks' };
    // One round makes up to four network calls; each is preceded by a heartbeat carrying the last
    // progress, so a slow round cannot outlast the heartbeat timeout and be retried from scratch forever.
    const beat = () => context.heartbeat(last);
    const startedAt = Date.now();
    let pollDelayMs = Math.min(FIRST_POLL_DELAY_MS, deps.pollIntervalMs);
    for (;;) {
      const progress = await checkOnce(deps, input, target, beat);
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
const hideStorageRoot = (text: string, deps: ActivityDependencies) => toLogicalText(text, deps.render.storageRoot);

async function checkOnce(
  deps: ActivityDependencies,
  input: WatchReadinessInput,
  target: { appName: string; deploymentName: string },
  beat: () => void,
): Promise<ReadinessProgress | 'ready'> {
  let details;
  beat();
  try {
    details = await deps.dashboard.getDeploymentDetails(target.appName, target.deploymentName);
  } catch (err) {
    if (err instanceof RayRequestError) return { readyReplicas: 0, targetReplicas: input.targetReplicas, message: err.message };
    throw err;
  }
  const assessment = assessModel(details, target.appName, target.deploymentName, input.targetReplicas, input.rolloutMarker, input.autoscaled === true);
  switch (assessment.phase) {
    case 'failed': {
      const message = hideStorageRoot(assessment.message, deps);
      let summary = summarizeRayMessage(message);
      if (isGenericEngineFailure(summary)) {
        beat();
        const cause = await rootCauseOfDeadReplica(deps, details, target, assessment.message);
        if (cause) summary = hideStorageRoot(cause, deps);
      }
      throw ApplicationFailure.nonRetryable(summary, 'RayDeploymentFailed', { ray_message: message });
    }
    case 'absent':
      return { readyReplicas: 0, targetReplicas: input.targetReplicas, message: assessment.message };
    case 'progressing': {
      const unscheduled = assessment.readyReplicas < input.targetReplicas && assessment.unscheduled === true;
      return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: hideStorageRoot(assessment.message, deps), unscheduled };
    }
    case 'healthy': {
      const via = input.via ?? 'ingress';
      if (via === 'switch') {
        beat();
        const routed = await deps.ingress.routesModelTo(input.modelId, target.appName);
        if (!routed.ok) return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: routed.detail };
      }
      if (via !== 'revision') {
        beat();
        const listed = await deps.ingress.listsModel(input.modelId);
        if (!listed.ok) return { readyReplicas: assessment.readyReplicas, targetReplicas: input.targetReplicas, message: listed.detail };
      }
      beat();
      const chat = await deps.ingress.answersChat(input.modelId, via === 'revision' ? target.appName : undefined);
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

/**
 * What the engine of the deployment's failed replica said before it died. vLLM reports an engine
 * that failed to start with a generic last line, and Serve's status keeps only that; the cause is
 * in the replica's stdout, which the dashboard serves. The replica is the one Serve's message
 * names (`actor_id=...`): when the deployment turns DEPLOY_FAILED it may still be stopping, not
 * yet among the recent dead replicas, which come next. Best effort: a log that cannot be read
 * leaves the generic summary.
 */
async function rootCauseOfDeadReplica(
  deps: ActivityDependencies,
  details: ServeDetails,
  target: { appName: string; deploymentName: string },
  rayMessage: string,
): Promise<string | undefined> {
  const named = [...rayMessage.matchAll(/actor_id=([0-9a-f]{16,})/g)].map((m) => m[1] as string).reverse();
  const dead = details.applications[target.appName]?.deployments[target.deploymentName]?.recent_dead_replicas ?? [];
  const newestDead = [...dead].sort((a, b) => (b.start_time_s ?? 0) - (a.start_time_s ?? 0)).map((r) => r.actor_id);
  for (const actorId of [...new Set([...named, ...newestDead])].slice(0, 3)) {
    try {
      const cause = rootCauseInLog(await deps.dashboard.getActorStdout(actorId));
      if (cause) return cause;
    } catch (err) {
      if (!(err instanceof RayRequestError)) throw err;
    }
  }
  return undefined;
}

/**
 * Waits until a model's apps are gone (their GPUs are free). Given `appNames` (a retired
 * revision), only those; given the model's key, every app of the model, and then until the
 * ingress no longer lists it. Without either (a watch started by the previous release), the
 * model's deployment in the single app.
 */
export function waitForRemovalActivity(deps: ActivityDependencies) {
  return async function waitForRemoval(input: { modelId: string; modelKey?: string; appNames?: string[] }): Promise<void> {
    const context = Context.current();
    const legacyDeployment = deploymentNameFor(input.modelId, deps.render.engine.server_cls);
    let message = 'asking Ray whether the apps are gone';
    for (;;) {
      context.heartbeat({ message }); // before each call, as in the readiness watch
      try {
        const left = await remainingApps(deps, input, legacyDeployment);
        if (left.length === 0) {
          if (input.appNames) return;
          // The ingress takes the new model set a moment after the PUT; until then it still lists the model.
          context.heartbeat({ message });
          const listed = await deps.ingress.listsModel(input.modelId);
          if (!listed.ok) return;
          message = 'apps gone; waiting for the ingress to stop listing the model';
        } else message = `still on the cluster: ${left.join(', ')}`;
      } catch (err) {
        if (!(err instanceof RayRequestError)) throw err;
        message = err.message;
      }
      await context.sleep(deps.pollIntervalMs);
    }
  };
}

/** What is left of the model on the cluster: its apps (or the retired ones), and its deployment in the single app. */
async function remainingApps(deps: ActivityDependencies, input: { modelId: string; modelKey?: string; appNames?: string[] }, legacyDeployment: string): Promise<string[]> {
  const { names, details: single } = await deps.dashboard.getApplicationNamesAndDeployment(deps.render.appName, legacyDeployment);
  if (input.appNames) return input.appNames.filter((name) => names.includes(name));
  const left = input.modelKey ? names.filter((name) => name.startsWith(modelAppPrefix(deps.render, input.modelKey))) : [];
  if (single.applications[deps.render.appName]?.deployments[legacyDeployment]) left.push(`${deps.render.appName}/${legacyDeployment}`);
  return left;
}
