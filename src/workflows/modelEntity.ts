import type { EventType, ModelState } from '../domain/lifecycle';
import { sameSpec, type ScaleRequest, type ServingSpec, specForEvents, withScale } from '../domain/servingSpecTypes';
import type { HealthNotice, ModelView, RequestAck } from './messages';

/** A spec at a revision: what a rollout applies and what a rollback restores. */
export interface Revision {
  revision: number;
  spec: ServingSpec;
  kind: 'deploy' | 'scale';
}

export interface ModelEvent {
  modelKey: string;
  seq: number;
  eventType: EventType;
  payload: Record<string, unknown>;
  projection: { state: ModelState; revision: number; spec: ServingSpec; errorSummary: string | null };
}

/** Everything the workflow must carry across continue-as-new. */
export interface ModelSnapshot {
  modelKey: string;
  modelId: string;
  userId: string;
  seq: number;
  state: ModelState;
  latest: Revision;
  /** Latest revision already taken by a rollout (applied or superseded). */
  handledRevision: number;
  lastGood: Revision | null;
  errorSummary: string | null;
  deleteRequested: boolean;
  /** What the current phase waits on, shown in the Temporal UI and the query. */
  details?: string;
  /** The reconciler's latest notice not yet acted on (null: none, or it is stale). */
  observation?: HealthNotice | null;
  /** When the model was last seen ready by its own checks (epoch ms): older notices are stale. */
  readySince?: number;
}

export class RequestRefused extends Error {}


/**
 * The state of one model as its workflow sees it. Message handlers call the accept* methods,
 * the main loop calls the rollout methods; nothing here does I/O, so it is easy to test and
 * deterministic by construction.
 */
export class ModelEntity {
  private s: ModelSnapshot;

  constructor(snapshot: ModelSnapshot) {
    this.s = { details: '', ...snapshot };
  }

  static first(modelKey: string, modelId: string, userId: string, spec: ServingSpec): ModelEntity {
    return new ModelEntity({
      modelKey,
      modelId,
      userId,
      seq: 0,
      state: 'QUEUED',
      latest: { revision: 0, spec, kind: 'deploy' },
      handledRevision: 0,
      lastGood: null,
      errorSummary: null,
      deleteRequested: false,
    });
  }

  get modelKey(): string {
    return this.s.modelKey;
  }
  get modelId(): string {
    return this.s.modelId;
  }
  get state(): ModelState {
    return this.s.state;
  }
  get lastGood(): Revision | null {
    return this.s.lastGood;
  }
  get deleteRequested(): boolean {
    return this.s.deleteRequested;
  }

  snapshot(): ModelSnapshot {
    return { ...this.s };
  }

  view(): ModelView {
    return {
      model_key: this.s.modelKey,
      model_id: this.s.modelId,
      state: this.s.state,
      revision: this.s.latest.revision,
      spec: this.shownSpec(),
      error_summary: this.s.errorSummary,
      serving_revision: this.serves() ? (this.s.lastGood?.revision ?? null) : null,
      details: this.s.details ?? '',
    };
  }

  /** RUNNING, or DEGRADED: its last good revision is what it serves (or should). */
  private serves(): boolean {
    return this.s.state === 'RUNNING' || this.s.state === 'DEGRADED';
  }

  /**
   * The spec the model stands for, which its row shows, its user's quota counts and a new request
   * is compared with and built on:
   * - a request still waiting, if any: it holds its user's quota from the moment it was accepted
   *   (a RUNNING model showing the spec that serves while a larger one waited let the user's next
   *   request pass the quota);
   * - otherwise what serves: after a rolled-back change that is the last good spec, not the one
   *   that failed, so a scale does not carry the failed change along with it.
   */
  private shownSpec(): ServingSpec {
    if (this.s.latest.revision > this.s.handledRevision) return this.s.latest.spec;
    return this.serves() && this.s.lastGood ? this.s.lastGood.spec : this.s.latest.spec;
  }

  // ---- requests (called by message handlers) ----

  assertAcceptsChanges(): void {
    if (this.s.deleteRequested) throw new RequestRefused(`model ${this.s.modelKey} is being deleted; wait until it is DELETED`);
  }

  private ack(changed: boolean): RequestAck {
    return { model_key: this.s.modelKey, state: this.s.state, revision: this.s.latest.revision, changed };
  }

  /** FAILED or DEGRADED: re-sending the same request is how a user asks for a fresh rollout. */
  private retriable(): boolean {
    return this.s.state === 'FAILED' || this.s.state === 'DEGRADED';
  }

  /**
   * A new spec. Identical to what is queued or serving: nothing to do (unless the model FAILED
   * or is DEGRADED, where re-sending the spec is how a user retries). Otherwise it becomes the
   * latest revision and supersedes any older one still waiting.
   */
  acceptDeploy(spec: ServingSpec): { ack: RequestAck; event: ModelEvent | null } {
    this.assertAcceptsChanges();
    const isFirst = this.s.seq === 0;
    if (!isFirst && !this.retriable() && sameSpec(spec, this.shownSpec())) return { ack: this.ack(false), event: null };
    const revision = isFirst ? 1 : this.s.latest.revision + 1;
    this.s.latest = { revision, spec, kind: 'deploy' };
    this.s.state = 'QUEUED';
    const event = this.event('DEPLOY_REQUESTED', { revision, spec: specForEvents(spec) });
    return { ack: this.ack(true), event };
  }

  /**
   * A new replica count or range. (Older histories carry `{ num_replicas }` alone, which is the
   * same request: a fixed count.)
   */
  acceptScale(request: ScaleRequest): { ack: RequestAck; event: ModelEvent | null } {
    this.assertAcceptsChanges();
    const base = this.shownSpec();
    const scaled = withScale(base, request);
    if (sameSpec(scaled, base) && !this.retriable()) return { ack: this.ack(false), event: null };
    const revision = this.s.latest.revision + 1;
    this.s.latest = { revision, spec: scaled, kind: 'scale' };
    this.s.state = 'QUEUED';
    const event = this.event('SCALE_REQUESTED', {
      revision,
      from_replicas: base.num_replicas,
      num_replicas: scaled.num_replicas,
      ...(base.autoscaling ? { from_autoscaling: base.autoscaling } : {}),
      ...(scaled.autoscaling ? { autoscaling: scaled.autoscaling } : {}),
    });
    return { ack: this.ack(true), event };
  }

  /** Delete supersedes everything pending; a second delete is acknowledged without a new event. */
  acceptDelete(): { ack: RequestAck; event: ModelEvent | null } {
    if (this.s.deleteRequested) return { ack: this.ack(false), event: null };
    this.s.deleteRequested = true;
    this.s.state = 'DELETING';
    return { ack: this.ack(true), event: this.event('DELETE_REQUESTED', {}) };
  }

  // ---- the main loop's view ----

  hasPendingRollout(): boolean {
    return !this.s.deleteRequested && this.s.latest.revision > this.s.handledRevision;
  }

  /** True once something newer than `revision` (or a delete) is waiting. */
  isSuperseded(revision: number): boolean {
    return this.s.deleteRequested || this.s.latest.revision > revision;
  }

  /** The revision the next rollout would take, left pending (it may wait in line first). */
  pendingRollout(): Revision {
    return this.s.latest;
  }

  takeRollout(): Revision {
    this.s.handledRevision = this.s.latest.revision;
    return this.s.latest;
  }

  // ---- what the cluster's reconciler saw ----

  /** Keeps the reconciler's notice, unless it was made before the model was last seen ready. */
  observe(notice: HealthNotice): void {
    if (notice.observedAt < (this.s.readySince ?? 0)) return;
    this.s.observation = notice;
  }

  get observation(): HealthNotice | null {
    return this.s.observation ?? null;
  }

  /** Something to heal, with nothing newer asked of the model: a RUNNING model the cluster no longer serves as asked, or a DEGRADED one. */
  needsCare(): boolean {
    if (this.s.deleteRequested || this.hasPendingRollout() || this.s.lastGood === null) return false;
    if (this.s.state === 'DEGRADED') return true;
    return this.s.state === 'RUNNING' && this.s.observation !== null && this.s.observation !== undefined && this.s.observation.health !== 'healthy';
  }

  isObservedHealthy(): boolean {
    return this.s.observation?.health === 'healthy';
  }

  /** The model was just seen ready by its own checks: notices made before now are stale. */
  seenReady(at: number): void {
    this.s.readySince = at;
    this.s.observation = null;
  }

  setDetails(details: string): void {
    this.s.details = details;
  }

  transition(state: ModelState, errorSummary: string | null = this.s.errorSummary): void {
    if (this.s.deleteRequested && state !== 'DELETING' && state !== 'DELETED') return; // delete wins
    this.s.state = state;
    this.s.errorSummary = errorSummary;
  }

  markRunning(revision: Revision, errorSummary: string | null = null): void {
    this.s.lastGood = revision;
    this.transition('RUNNING', errorSummary);
  }

  markRemoved(): void {
    this.s.lastGood = null;
  }

  /** Assigns the next sequence number and snapshots the row the API will show after it. */
  event(eventType: EventType, payload: Record<string, unknown>): ModelEvent {
    this.s.seq += 1;
    return {
      modelKey: this.s.modelKey,
      seq: this.s.seq,
      eventType,
      payload,
      projection: { state: this.s.state, revision: this.s.latest.revision, spec: this.shownSpec(), errorSummary: this.s.errorSummary },
    };
  }
}
