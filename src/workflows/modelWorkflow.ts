import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ModelActivities } from '../activities';
import type { ApplyResult } from '../activities/applyModelToCluster';
import type { PlacementStep } from '../ray/modelPlacement';
import type { ReadinessProgress, ReadinessVia } from '../activities/readiness';
import { redefines } from '../domain/revisions';
import { reservedGpus } from '../domain/gpuReservation';
import { replicaFloor, type ServingSpec } from '../domain/servingSpecTypes';
import { deleteUpdate, deployUpdate, HealthNotice, healthNoticeSignal, modelQuery, RequestAck, scaleUpdate } from './messages';
import { ModelEntity, ModelEvent, ModelSnapshot, RequestRefused, Revision } from './modelEntity';
import { MODEL_STATE } from './searchAttributes';

export interface ModelWorkflowInput {
  modelKey: string;
  modelId: string;
  userId: string;
  /** The spec of the first request; the deploy update that starts the workflow carries it too. */
  initialSpec: ServingSpec;
  /** Platform default for the readiness deadline, seconds; a spec may override it. */
  defaultReadinessTimeoutS: number;
  /** How long a new revision beside the serving one may wait for room before the rollout replaces in place. */
  surgeWaitS?: number;
  /** How long a DEGRADED model is left to Ray's own recovery before its revision is applied again. */
  rayRecoveryWaitS?: number;
  /** Set when the workflow continues as new. */
  carried?: ModelSnapshot;
}

// Postgres and Ray hiccups are retried with backoff for as long as it takes; what retrying
// cannot fix is raised as a non-retryable failure by the activity itself. Every activity has a
// heartbeat timeout so that one whose worker died is retried by another worker within seconds,
// not at its start-to-close timeout (the worker heartbeats for those that report no progress,
// see src/worker/livenessHeartbeats.ts). The readiness watch heartbeats its progress between
// probes, and one round of probes (dashboard, /v1/models, a 1-token chat) can take tens of
// seconds on a busy cluster, hence its longer heartbeat timeout.
const { recordModelEvent, admitModel, releaseModel } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '15 seconds',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const { applyModelToCluster } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
// The watches heartbeat before every call to Ray (each bounded at 10 s), so 15 s of silence means
// the worker is gone and another should take over.
const { watchReadiness, waitForRemoval } = proxyActivities<ModelActivities>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds' },
});

/** Pause before the next attempt to remove a model whose removal failed: doubling from 2 s to 1 min. */
const removalRetryDelayMs = (attempt: number) => Math.min(2_000 * 2 ** (attempt - 1), 60_000);
/** Pause before the next repair of a model that stays DEGRADED: doubling from 15 s to 5 min. */
const repairRetryDelayMs = (attempt: number) => Math.min(15_000 * 2 ** (attempt - 1), 300_000);
const DEFAULT_RAY_RECOVERY_WAIT_S = 60;

/** Patch: APPLY_STARTED and APPLY_SUCCEEDED are recorded alongside the apply and the watch, not before them. */
const RECORD_EVENTS_ALONGSIDE = 'record-events-alongside-steps';

/** Patch: a replica Ray is starting in place of a failed one gets as long as a start may take before a repair. */
const RAY_REPLACEMENT_WAIT = 'ray-replacement-wait';

/** Patch: a redefinition of a serving model starts the new revision beside the serving one (blue/green). */
const BLUE_GREEN = 'blue-green-revisions';

/** Patch: a rollout waits in line until the cluster's GPUs can take it; a model off the cluster gives its GPUs back. */
const ADMISSION = 'capacity-admission';
/** How often a model waiting in line looks again (capacity frees when a model goes or a node joins). */
const ADMISSION_RECHECK_MS = 5_000;

/** How long one readiness watch may run before reporting back to the workflow. */
const WATCH_WINDOW_MS = 60_000;
const DEFAULT_SURGE_WAIT_S = 60;

/** What a readiness watch looks at: the app and deployment an apply step reported, and how to reach it. */
interface WatchTarget {
  marker: string;
  appName?: string;
  deploymentName?: string;
  via: ReadinessVia;
}

/**
 * One long-running workflow per model. Requests arrive as updates and are handled in order by
 * the loop below: the newest spec wins over an older one still queued, and a delete wins over
 * everything. A rollout that fails is compensated: a first deploy is taken off the cluster, a
 * change to a running model is rolled back to the last good revision.
 */
export async function modelWorkflow(input: ModelWorkflowInput): Promise<void> {
  const model = input.carried ? new ModelEntity(input.carried) : ModelEntity.first(input.modelKey, input.modelId, input.userId, input.initialSpec);

  const record = async (event: ModelEvent | null) => {
    if (event) await recordModelEvent.executeWithOptions({ summary: `record ${event.eventType}` }, [event]);
  };
  const refuse = (err: unknown) => {
    if (err instanceof RequestRefused) throw ApplicationFailure.create({ type: 'RequestRefused', message: err.message, nonRetryable: true });
    throw err;
  };
  const acknowledge = async (accepted: { ack: RequestAck; event: ModelEvent | null }) => {
    showState();
    await record(accepted.event);
    return accepted.ack;
  };

  // Validators refuse before anything is written to history, so a refused request leaves no trace.
  const acceptsChanges = () => {
    try {
      model.assertAcceptsChanges();
    } catch (err) {
      refuse(err);
    }
  };
  setHandler(deployUpdate, async (spec) => acknowledge(model.acceptDeploy(spec)), { validator: (_spec) => acceptsChanges() });
  setHandler(scaleUpdate, async (request) => acknowledge(model.acceptScale(request)), { validator: (_request) => acceptsChanges() });
  setHandler(deleteUpdate, async () => acknowledge(model.acceptDelete()));
  setHandler(modelQuery, () => model.view());
  setHandler(healthNoticeSignal, (notice) => model.observe(notice));

  /** The model serves `revision`, as its own checks just showed: what the reconciler saw before is stale. */
  const markServing = (revision: Revision, errorSummary: string | null = null) => {
    model.markRunning(revision, errorSummary);
    model.seenReady(Date.now());
  };

  /**
   * Keeps the UI's state search attribute and "current details" in step with the model. Without
   * new details, the last ones stay: they still describe what serves or what is awaited.
   */
  function showState(details?: string) {
    upsertSearchAttributes([{ key: MODEL_STATE, value: model.state }]);
    if (details !== undefined) model.setDetails(details);
    const shown = model.view().details;
    setCurrentDetails(`**${model.state}** ${model.modelId}${shown ? `\n\n${shown}` : ''}`);
  }

  async function emit(eventType: ModelEvent['eventType'], payload: Record<string, unknown> = {}, details?: string) {
    showState(details);
    await record(model.event(eventType, payload));
  }

  /**
   * Applies a revision and waits for readiness; resolves 'superseded' if a newer request arrives
   * meanwhile (`interrupted`, by default: anything newer than the revision, or a delete).
   */
  async function applyAndWait(
    revision: Revision,
    marker: string,
    cancellable: boolean,
    options: { step?: PlacementStep; interrupted?: () => boolean; summary?: string } = {},
  ): Promise<'ready' | 'superseded'> {
    const timeoutS = revision.spec.readiness_timeout_s ?? input.defaultReadinessTimeoutS;
    const deadlineMs = Date.now() + timeoutS * 1000;
    // A step's event is recorded alongside the step instead of before it: each recording is a
    // round trip through the server, and a rollout is a chain of them. Its seq is taken here, so
    // the events keep their order; the step's outcome waits for its event to be written.
    const alongside = patched(RECORD_EVENTS_ALONGSIDE);
    // Each record is awaited below; the no-op handler only keeps a failure that arrives while the
    // step still runs (the workflow being cancelled) from counting as an unhandled rejection.
    const applyStarted = emit('APPLY_STARTED', { revision: revision.revision, kind: revision.kind, marker }, `applying revision ${revision.revision} to the cluster`);
    applyStarted.catch(() => undefined);
    if (!alongside) await applyStarted;
    let applied: ApplyResult;
    try {
      applied = await applyModelToCluster.executeWithOptions(
        { summary: options.summary ?? `apply revision ${revision.revision} of ${model.modelId}`, startToCloseTimeout: '2 minutes', scheduleToCloseTimeout: timeoutS * 1000 },
        [{ modelKey: model.modelKey, modelId: model.modelId, spec: revision.spec, rolloutMarker: marker, ...(options.step ? { step: options.step } : {}) }],
      );
    } finally {
      await applyStarted;
    }
    const applySucceeded = emit('APPLY_SUCCEEDED', { revision: revision.revision }, 'config accepted by Ray; waiting for readiness');
    applySucceeded.catch(() => undefined);
    if (!alongside) await applySucceeded;

    const target: WatchTarget = { marker: applied.marker ?? marker, appName: applied.app_name, deploymentName: applied.deployment_name, via: 'ingress' };
    try {
      const outcome = await watchUntilReady(revision, target, deadlineMs, { cancellable, ...(options.interrupted ? { interrupted: options.interrupted } : {}) });
      // Only a watch given a surge deadline reports 'no-room'; this one has none.
      if (outcome === 'no-room') throw new Error(`watch of revision ${revision.revision} reported no room without a surge deadline`);
      return outcome;
    } finally {
      // Outside the cancellable scope: a newer request never cancels the record of what happened.
      await applySucceeded;
    }
  }

  /**
   * Watches one revision until it is ready. Resolves 'superseded' when `cancellable` and a newer
   * request arrives, and 'no-room' when Ray still cannot place its replicas at `surgeDeadlineMs`.
   * Every change of progress is an event and shows in the Temporal UI.
   */
  async function watchUntilReady(
    revision: Revision,
    target: WatchTarget,
    deadlineMs: number,
    options: { cancellable: boolean; surgeDeadlineMs?: number; interrupted?: () => boolean },
  ): Promise<'ready' | 'superseded' | 'no-room'> {
    const interrupted = options.interrupted ?? (() => model.isSuperseded(revision.revision));
    const wait = async (): Promise<'ready' | 'no-room'> => {
      let last: ReadinessProgress | null = null;
      for (;;) {
        const untilSurge = options.surgeDeadlineMs === undefined ? WATCH_WINDOW_MS : Math.max(1_000, Math.min(WATCH_WINDOW_MS, options.surgeDeadlineMs - Date.now()));
        const result = await watchReadiness.executeWithOptions(
          { summary: `wait for ${model.modelId} r${revision.revision} to be ready${target.via === 'revision' ? ' beside the serving revision' : ''}` },
          [
            {
              modelId: model.modelId,
              modelKey: model.modelKey,
              targetReplicas: replicaFloor(revision.spec),
              ...(revision.spec.autoscaling ? { autoscaled: true } : {}),
              rolloutMarker: target.marker,
              deadlineMs,
              lastProgress: last,
              maxWatchMs: untilSurge,
              ...(target.appName ? { appName: target.appName, deploymentName: target.deploymentName } : {}),
              ...(target.via !== 'ingress' ? { via: target.via } : {}),
            },
          ],
        );
        if (result.ready) return 'ready';
        const p = result.progress;
        if (last === null || p.readyReplicas !== last.readyReplicas || p.message !== last.message) {
          // A repair's progress is also why the model is DEGRADED (e.g. waiting for GPUs after a lost node).
          if (model.state === 'DEGRADED') model.transition('DEGRADED', `replicas ready ${p.readyReplicas}/${p.targetReplicas}: ${p.message}`);
          await emit('READINESS_PROGRESS', { revision: revision.revision, ready_replicas: p.readyReplicas, target_replicas: p.targetReplicas, message: p.message },
            `replicas ready ${p.readyReplicas}/${p.targetReplicas}: ${p.message}`);
        }
        last = p;
        if (options.surgeDeadlineMs !== undefined && p.unscheduled && p.readyReplicas === 0 && Date.now() >= options.surgeDeadlineMs) return 'no-room';
      }
    };
    if (!options.cancellable) return wait();
    return CancellationScope.cancellable(async () => {
      const scope = CancellationScope.current();
      const newer = condition(interrupted).then(() => {
        scope.cancel();
        return 'superseded' as const;
      });
      try {
        return await Promise.race([wait(), newer]);
      } catch (err) {
        if (isCancellation(err) && interrupted()) return 'superseded';
        throw err;
      }
    });
  }

  const placementStep = (summary: string, input: Omit<Parameters<typeof applyModelToCluster>[0], 'modelKey' | 'modelId'>) =>
    applyModelToCluster.executeWithOptions({ summary }, [{ modelKey: model.modelKey, modelId: model.modelId, ...input }]);

  /**
   * A redefinition of a serving model, blue/green: the new revision starts as a second app beside
   * the serving one, which keeps answering; the ingress switches to it only once it passed its
   * checks (Serve status and a 1-token completion sent to it directly), then the old app goes.
   * A new revision that fails is removed and the serving one never stopped. Where the cluster
   * cannot place both, the rollout falls back to replacing the model in place, and says so.
   */
  async function blueGreen(revision: Revision, good: Revision) {
    const marker = `r${revision.revision}`;
    const timeoutS = revision.spec.readiness_timeout_s ?? input.defaultReadinessTimeoutS;
    const deadlineMs = Date.now() + timeoutS * 1000;
    await emit('APPLY_STARTED', { revision: revision.revision, kind: revision.kind, marker, strategy: 'blue-green', serving_revision: good.revision },
      `starting revision ${revision.revision} beside revision ${good.revision}, which keeps serving`);
    let staged: ApplyResult;
    try {
      staged = await placementStep(`start ${model.modelId} r${revision.revision} beside r${good.revision}`, { spec: revision.spec, rolloutMarker: marker, step: 'stage' });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return discardRevision(revision, good, describeFailure(err), null);
    }
    const servingApp = staged.routed_app as string;
    await emit('APPLY_SUCCEEDED', { revision: revision.revision, app_name: staged.app_name, serving_app: servingApp }, `revision ${revision.revision} starting beside revision ${good.revision}`);

    const surgeDeadlineMs = Date.now() + (input.surgeWaitS ?? DEFAULT_SURGE_WAIT_S) * 1000;
    let outcome: 'ready' | 'superseded' | 'no-room';
    try {
      outcome = await watchUntilReady(revision, { marker, appName: staged.app_name, deploymentName: staged.deployment_name, via: 'revision' }, deadlineMs, {
        cancellable: true,
        surgeDeadlineMs,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return discardRevision(revision, good, describeFailure(err), staged.app_name ?? null);
    }
    if (outcome === 'superseded') {
      // The next rollout replaces the candidate (or the delete removes it).
      await emit('DEPLOY_SUPERSEDED', { revision: revision.revision }, 'a newer request replaces this rollout');
      return;
    }
    if (outcome === 'no-room') {
      await emit('SURGE_UNAVAILABLE', { revision: revision.revision, surge_wait_s: input.surgeWaitS ?? DEFAULT_SURGE_WAIT_S },
        `the cluster cannot hold revisions ${good.revision} and ${revision.revision} at once: replacing revision ${good.revision} in place (the model is unavailable while it reloads)`);
      return inPlace(revision);
    }
    await emit('REVISION_READY', { revision: revision.revision, app_name: staged.app_name }, `revision ${revision.revision} is ready; switching traffic to it`);

    try {
      const switched = await placementStep(`route ${model.modelId} to r${revision.revision}`, { spec: revision.spec, rolloutMarker: marker, step: 'promote' });
      await watchUntilReady(revision, { marker, appName: switched.app_name, deploymentName: switched.deployment_name, via: 'switch' }, deadlineMs, { cancellable: false });
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Route back to the revision that served until now, then drop the new one.
      await placementStep(`route ${model.modelId} back to r${good.revision}`, { spec: good.spec, rolloutMarker: marker, step: 'promote', targetApp: servingApp });
      return discardRevision(revision, good, describeFailure(err), staged.app_name ?? null);
    }
    await emit('TRAFFIC_SWITCHED', { revision: revision.revision, from_app: servingApp, to_app: staged.app_name }, `revision ${revision.revision} serves; removing revision ${good.revision}`);
    const retired = await placementStep(`remove ${model.modelId} r${good.revision}`, { spec: revision.spec, rolloutMarker: marker, step: 'retire' });
    await waitForRemoval.executeWithOptions({ summary: `wait until ${model.modelId} r${good.revision} is gone` }, [
      { modelId: model.modelId, modelKey: model.modelKey, appNames: retired.removed_apps ?? [] },
    ]);
    await emit('REVISION_RETIRED', { revision: good.revision, app_names: retired.removed_apps ?? [] });
    markServing(revision);
    await emit('RUNNING', { revision: revision.revision, kind: revision.kind, took_s: secondsSince(rolloutStartedAt) }, `serving revision ${revision.revision}`);
  }

  /** A new revision that failed beside the serving one: remove it; the serving revision never stopped. */
  async function discardRevision(failed: Revision, good: Revision, failure: { summary: string; message: string; type: string }, appName: string | null) {
    const summary = `revision ${failed.revision} (${failed.kind}) failed and was discarded; revision ${good.revision} served throughout: ${failure.summary}`;
    await emit('DEPLOY_FAILED', { revision: failed.revision, kind: failed.kind, error_type: failure.type, error_summary: failure.summary, message: failure.message, took_s: secondsSince(rolloutStartedAt) }, failure.summary);
    const discarded = await placementStep(`remove ${model.modelId} r${failed.revision}`, { spec: good.spec, rolloutMarker: `r${failed.revision}`, step: 'retire' });
    await waitForRemoval.executeWithOptions({ summary: `wait until ${model.modelId} r${failed.revision} is gone` }, [
      { modelId: model.modelId, modelKey: model.modelKey, appNames: discarded.removed_apps ?? (appName ? [appName] : []) },
    ]);
    await emit('REVISION_DISCARDED', { revision: failed.revision, app_names: discarded.removed_apps ?? [] });
    markServing(good, summary);
    await emit('ROLLED_BACK', { to_revision: good.revision, error_summary: summary, served_throughout: true }, summary);
  }

  /** The rollout of one revision in the model's own app: a first deploy, a scale, or a redefinition with no room beside. */
  async function inPlace(revision: Revision) {
    try {
      const outcome = await applyAndWait(revision, `r${revision.revision}`, true);
      if (outcome === 'superseded') {
        await emit('DEPLOY_SUPERSEDED', { revision: revision.revision }, 'a newer request replaces this rollout');
        return;
      }
      markServing(revision);
      await emit('RUNNING', { revision: revision.revision, kind: revision.kind, took_s: secondsSince(rolloutStartedAt) }, `serving revision ${revision.revision}`);
    } catch (err) {
      if (isCancellation(err)) throw err;
      await compensate(revision, describeFailure(err));
    }
  }

  /**
   * Waits in line until the cluster's GPUs of the model's accelerator type can take the revision
   * (true). False when a newer request or a delete replaces it, or the history should start
   * afresh: the revision stays pending and the loop comes back to it. Nothing is placed on Ray
   * before it is admitted.
   */
  async function admitted(revision: Revision): Promise<boolean> {
    const request = { modelKey: model.modelKey, accelerator: revision.spec.accelerator_type ?? null, gpus: reservedGpus(revision.spec) };
    const askedAt = Date.now();
    let shown = '';
    for (;;) {
      const verdict = await admitModel.executeWithOptions({ summary: `admit ${model.modelId} r${revision.revision} (${request.gpus} GPUs)` }, [request]);
      if (verdict.admitted) {
        if (shown) await emit('ADMITTED', { revision: revision.revision, gpus: request.gpus, waited_s: secondsSince(askedAt) }, `admitted: ${request.gpus} GPUs`);
        return true;
      }
      if (verdict.reason !== shown) {
        shown = verdict.reason;
        model.transition('QUEUED');
        showState(verdict.reason);
        await emit('ADMISSION_WAITING', { revision: revision.revision, gpus: request.gpus, reason: verdict.reason, ahead: verdict.ahead }, verdict.reason);
      }
      if (await condition(() => model.isSuperseded(revision.revision) || workflowInfo().continueAsNewSuggested, ADMISSION_RECHECK_MS)) return false;
    }
  }

  let rolloutStartedAt = Date.now();
  async function rollout(revision: Revision) {
    rolloutStartedAt = Date.now();
    model.transition('DEPLOYING');
    const good = model.lastGood;
    if (revision.kind === 'deploy' && good !== null && redefines(good.spec, revision.spec) && patched(BLUE_GREEN)) return blueGreen(revision, good);
    return inPlace(revision);
  }

  /** Undoes a failed rollout: roll back to the last good revision, or take the model off the cluster. */
  async function compensate(failed: Revision, failure: { summary: string; message: string; type: string }) {
    const good = model.lastGood;
    const summary = good ? `revision ${failed.revision} (${failed.kind}) failed and was rolled back: ${failure.summary}` : failure.summary;
    await emit('DEPLOY_FAILED', { revision: failed.revision, kind: failed.kind, error_type: failure.type, error_summary: failure.summary, message: failure.message, took_s: secondsSince(rolloutStartedAt) }, failure.summary);
    if (model.isSuperseded(failed.revision)) return; // the newer request replaces the failed config anyway
    if (good) {
      await emit('ROLLBACK_STARTED', { failed_revision: failed.revision, to_revision: good.revision });
      try {
        await applyAndWait(good, `r${good.revision}-after-r${failed.revision}`, false);
        // The model holds what its good revision reserves again (it ran there before: no waiting in line).
        if (patched(ADMISSION)) await admitModel.executeWithOptions({ summary: `hold ${model.modelId}'s GPUs for r${good.revision}` }, [{ modelKey: model.modelKey, accelerator: good.spec.accelerator_type ?? null, gpus: reservedGpus(good.spec), force: true }]);
        markServing(good, summary);
        await emit('ROLLED_BACK', { to_revision: good.revision, error_summary: summary }, summary);
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const rollbackFailure = describeFailure(err);
        await emit('DEPLOY_FAILED', { revision: good.revision, rollback: true, error_summary: rollbackFailure.summary, message: rollbackFailure.message });
        await removeFromCluster();
        model.transition(
          'FAILED',
          `revision ${failed.revision} (${failed.kind}) failed: ${failure.summary}; the rollback to revision ${good.revision} failed too, so the model was taken off the cluster: ${rollbackFailure.summary}`,
        );
        await emit('REMOVED_FROM_CLUSTER', {}, model.view().error_summary ?? undefined);
        return;
      }
    }
    await removeFromCluster();
    model.transition('FAILED', summary);
    await emit('REMOVED_FROM_CLUSTER', { revision: failed.revision }, summary);
  }

  /** Takes the model off the cluster; keeps trying until it is gone, since a half-removed model holds GPUs. */
  async function removeFromCluster() {
    for (let attempt = 1; ; attempt++) {
      try {
        await applyModelToCluster.executeWithOptions({ summary: `remove ${model.modelId} from the cluster` }, [
          { modelKey: model.modelKey, modelId: model.modelId, spec: null, rolloutMarker: 'removed' },
        ]);
        await waitForRemoval.executeWithOptions({ summary: `wait until ${model.modelId} is gone` }, [{ modelId: model.modelId, modelKey: model.modelKey }]);
        if (patched(ADMISSION)) await releaseModel.executeWithOptions({ summary: `give ${model.modelId}'s GPUs back` }, [{ modelKey: model.modelKey }]);
        model.markRemoved();
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const delayMs = removalRetryDelayMs(attempt);
        showState(`removal attempt ${attempt} failed, retrying in ${delayMs / 1000} s: ${describeFailure(err).summary}`);
        await sleep(delayMs);
      }
    }
  }

  /**
   * The cluster stopped serving the model as asked (the reconciler said so): the model is
   * DEGRADED, with Ray's words, until it serves again. Ray replaces failed replicas itself, so a
   * model short of replicas or unhealthy is given `rayRecoveryWaitS` to recover; an app that is
   * gone, or a model Ray did not recover in time, gets its last good revision applied again (a
   * restart with a new marker when the app is there but stuck), retried with backoff for as long
   * as it takes. A new request or a delete takes over at any point.
   */
  async function heal() {
    const good = model.lastGood as Revision;
    const degradedAt = Date.now();
    const healed = async (by: 'ray' | 'repair', attempts = 0) => {
      markServing(good);
      await emit('HEALED', { revision: good.revision, by, repair_attempts: attempts, degraded_for_s: Math.round((Date.now() - degradedAt) / 1000) },
        by === 'ray' ? `serving revision ${good.revision} again (Ray recovered it)` : `serving revision ${good.revision} again (repaired)`);
    };
    const drift: HealthNotice = model.observation ?? { health: 'degraded', message: model.view().error_summary ?? 'degraded', running: 0, target: replicaFloor(good.spec), observedAt: Date.now() };
    // A run continued as new while DEGRADED carries its reason in the error summary.
    const reason = model.observation ? describeDrift(drift) : (model.view().error_summary ?? 'degraded');
    if (model.state === 'RUNNING') {
      model.transition('DEGRADED', reason);
      await emit(drift.coldStartFailed ? 'COLD_START_FAILED' : 'DRIFT_DETECTED', { revision: good.revision, kind: drift.health, message: drift.message, running_replicas: drift.running, target_replicas: drift.target },
        `replicas ready ${drift.running}/${drift.target}: ${drift.message}`);
    }
    if (drift.health !== 'missing') {
      const outcome = await leftToRay(drift, (good.spec.readiness_timeout_s ?? input.defaultReadinessTimeoutS) * 1000);
      if (outcome === 'interrupted') return;
      if (outcome === 'recovered') return healed('ray');
    }
    for (let attempt = 1; ; attempt++) {
      // A missing app is created again as it was; an app that is there but not serving is restarted.
      const step: PlacementStep = (model.observation ?? drift).health === 'missing' && attempt === 1 ? 'replace' : 'restart';
      // A restart needs a marker Ray has not seen: the revision and the moment of the repair.
      const marker = step === 'replace' ? `r${good.revision}` : `r${good.revision}-h${Date.now().toString(36)}`;
      await emit('REPAIR_STARTED', { revision: good.revision, attempt, reason, restart: step === 'restart' },
        `repair attempt ${attempt}: ${step === 'restart' ? 'restarting' : 'applying'} revision ${good.revision} again (${reason})`);
      try {
        const summary = `repair ${model.modelId}: ${step === 'restart' ? 'restart' : 'apply again'} revision ${good.revision} (attempt ${attempt})`;
        const outcome = await applyAndWait(good, marker, true, { step, interrupted: degradedInterrupted, summary });
        if (outcome === 'superseded') return;
        return healed('repair', attempt);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const failure = describeFailure(err);
        const delayMs = repairRetryDelayMs(attempt);
        model.transition('DEGRADED', `${reason}; repair attempt ${attempt} failed: ${failure.summary}`);
        await emit('REPAIR_FAILED', { revision: good.revision, attempt, error_summary: failure.summary, message: failure.message, retry_in_s: delayMs / 1000 },
          `repair attempt ${attempt} failed, trying again in ${delayMs / 1000} s: ${failure.summary}`);
        await condition(() => degradedInterrupted() || model.isObservedHealthy(), delayMs);
        if (degradedInterrupted()) return;
        if (model.isObservedHealthy()) return healed('ray', attempt);
      }
    }
  }

  /**
   * Waits for Ray's own recovery of a DEGRADED model, for `rayRecoveryWaitS`, or longer when a
   * restart would not help:
   * - while Ray only waits for resources to place its replicas (a lost node: a restart would not
   *   make room, and Ray places them itself once room frees), for as long as that lasts;
   * - while Ray starts a replica in place of a failed one (a dead engine's replica), for as long
   *   as a start may take (`startLimitMs`, the readiness timeout): a restart would throw away a
   *   load already under way, and on a busy machine a large engine's load outlasts the wait.
   * What the reconciler says meanwhile shows as the model's reason. Ends 'recovered' when the
   * reconciler sees the model healthy again, 'interrupted' when a newer request or a delete takes
   * over, 'repair' when one is due.
   */
  async function leftToRay(first: HealthNotice, startLimitMs: number): Promise<'interrupted' | 'recovered' | 'repair'> {
    const waitMs = (input.rayRecoveryWaitS ?? DEFAULT_RAY_RECOVERY_WAIT_S) * 1000;
    let seen = first;
    let deadline = Date.now() + waitMs;
    const replacementDeadline = Date.now() + startLimitMs;
    showState(`replicas ready ${seen.running}/${seen.target}: ${seen.message}; leaving Ray ${first.replacing && startLimitMs > waitMs ? `up to ${startLimitMs / 1000} s to start its replacement` : `${waitMs / 1000} s to recover it`}`);
    for (;;) {
      const before = model.observation;
      const remainingMs = deadline - Date.now();
      if (remainingMs > 0) await condition(() => degradedInterrupted() || model.observation !== before, remainingMs);
      if (degradedInterrupted()) return 'interrupted';
      const latest = model.observation;
      if (latest?.health === 'healthy') return 'recovered';
      if (latest?.health === 'missing') return 'repair';
      if (latest && latest !== before && latest.message !== seen.message) {
        seen = latest;
        model.transition('DEGRADED', describeDrift(seen));
        await emit('READINESS_PROGRESS', { revision: model.lastGood?.revision, ready_replicas: seen.running, target_replicas: seen.target, message: seen.message, degraded: true },
          `replicas ready ${seen.running}/${seen.target}: ${seen.message}`);
      }
      // Ray places waiting replicas itself once there is room; a restart would not make any.
      if (latest?.unscheduled) deadline = Date.now() + waitMs;
      else if (latest?.replacing && Date.now() < replacementDeadline && patched(RAY_REPLACEMENT_WAIT)) deadline = Math.max(deadline, replacementDeadline);
      else if (Date.now() >= deadline) return 'repair';
    }
  }

  const degradedInterrupted = () => model.deleteRequested || model.hasPendingRollout() || workflowInfo().continueAsNewSuggested;

  // A continued run shows what the previous run showed until its own next step.
  if (input.carried) showState(input.carried.details);

  // ---- the loop: one request at a time, in order ----
  for (;;) {
    await condition(() => model.deleteRequested || model.hasPendingRollout() || workflowInfo().continueAsNewSuggested || model.needsCare());
    if (model.deleteRequested) break;
    if (workflowInfo().continueAsNewSuggested) {
      // Long-lived models: start a fresh history once Temporal suggests it. Only between
      // rollouts, and only once every handler has finished (so each accepted request's event is
      // recorded); a request still queued or a delete is part of the snapshot and handled by
      // the next run, so a steady stream of requests cannot postpone this forever.
      await condition(allHandlersFinished);
      await continueAsNew<typeof modelWorkflow>({ ...input, carried: model.snapshot() });
    }
    if (model.hasPendingRollout()) {
      if (patched(ADMISSION) && !(await admitted(model.pendingRollout()))) continue;
      await rollout(model.takeRollout());
    } else if (model.needsCare()) await heal();
  }

  showState('removing the model from the cluster');
  await removeFromCluster();
  model.transition('DELETED', null);
  await emit('DELETED', {}, 'deleted');
  await condition(allHandlersFinished);
}

const secondsSince = (at: number) => Math.round((Date.now() - at) / 100) / 10;

/** A drift in the words the model's error_summary shows. */
function describeDrift(drift: HealthNotice): string {
  if (drift.health === 'missing') return `not served: ${drift.message}`;
  return `replicas ready ${drift.running}/${drift.target}: ${drift.message}`;
}

function describeFailure(err: unknown): { summary: string; message: string; type: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as { ray_message?: string; body?: string };
    return { summary: cause.message, message: details.ray_message ?? details.body ?? cause.message, type: cause.type ?? 'ApplicationFailure' };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { summary: message, message, type: 'Error' };
}
