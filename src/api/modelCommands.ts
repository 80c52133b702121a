import { Client, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { deleteUnstartedModel, findLiveModelBySuffix, getModel, insertModel, ModelRow } from '../db/models';
import { ApiError, conflict, unavailable } from '../domain/apiError';
import { modelIdPrefix, newModelKey, publicModelId } from '../domain/naming';
import type { ServingSpec } from '../domain/servingSpec';
import { deleteUpdate, deployUpdate, RequestAck, ScaleRequest, scaleUpdate } from '../workflows/messages';
import type { modelWorkflow, ModelWorkflowInput } from '../workflows/modelWorkflow';
import { MODEL_ID, MODEL_STATE, USER_ID, workflowIdFor } from '../workflows/searchAttributes';

const unavailableBecause = (what: string, err: unknown) =>
  unavailable(`${what} is temporarily unavailable; nothing was changed, retry shortly (${(err as Error).message})`);

/** Turns a workflow's refusal into 409 and an unreachable Temporal into 503. */
function translate(err: unknown, modelKey: string): never {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === 'RequestRefused') {
    throw conflict('model_busy', err.cause.message);
  }
  if (err instanceof WorkflowNotFoundError || err instanceof WorkflowExecutionAlreadyStartedError) throw conflict('model_finished', `model ${modelKey} is no longer managed (it was deleted)`);
  if (err instanceof ApiError) throw err;
  throw unavailableBecause('the workflow service', err);
}

/** How long the API waits for a workflow to acknowledge a request before answering 503. */
const ACK_TIMEOUT_MS = 15_000;

/** How long the API asks Temporal whether a workflow whose request timed out was started. */
const DESCRIBE_TIMEOUT_MS = 5_000;

/** The workflow exists but has not acknowledged the request yet (a busy server or no worker). */
const startedButUnacknowledged = (modelKey: string, err: unknown) =>
  unavailable(
    `model ${modelKey} was created, but its workflow did not acknowledge the request within ${ACK_TIMEOUT_MS / 1000} s ` +
      `(${(err as Error).message}); it will take it once a worker is free: POST the same spec again to get its answer`,
  );

/** Sends user requests to model workflows and returns what the workflow acknowledged. */
export class ModelCommands {
  constructor(
    private readonly pool: Pool,
    private readonly temporal: Client,
    private readonly config: AppConfig,
  ) {}

  /** A workflow whose worker is down must not hold an HTTP request open forever. */
  private withinDeadline<T>(call: () => Promise<T>): Promise<T> {
    return this.temporal.withDeadline(Date.now() + ACK_TIMEOUT_MS, call);
  }

  private startOperation(row: Pick<ModelRow, 'modelKey' | 'userId' | 'prefix' | 'suffix'>, spec: ServingSpec) {
    const modelId = publicModelId(row.prefix, row.suffix);
    const input: ModelWorkflowInput = {
      modelKey: row.modelKey,
      modelId,
      userId: row.userId,
      initialSpec: spec,
      defaultReadinessTimeoutS: this.config.serving.readiness_timeout_s,
      surgeWaitS: this.config.serving.surge_wait_s,
      rayRecoveryWaitS: this.config.serving.reconcile.ray_recovery_wait_s,
    };
    return new WithStartWorkflowOperation<typeof modelWorkflow>('modelWorkflow', {
      workflowId: workflowIdFor(row.modelKey),
      taskQueue: this.config.temporal.task_queue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A model's workflow runs once. Without this, a POST racing the end of a delete would start
      // a second run for a deleted model: events renumbered from 1, the model back on the cluster.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `Model ${modelId} of ${row.userId}`,
      staticDetails: `model_key: ${row.modelKey}`,
      typedSearchAttributes: [
        { key: USER_ID, value: row.userId },
        { key: MODEL_ID, value: modelId },
        { key: MODEL_STATE, value: 'QUEUED' },
      ],
    });
  }

  /**
   * POST: creates the model, or upserts the user's model with that suffix. Update-with-start
   * makes "start the workflow if needed and hand it the spec" one idempotent call.
   */
  async deploy(userId: string, spec: ServingSpec, attempt = 1): Promise<RequestAck> {
    let row: ModelRow | null = await findLiveModelBySuffix(this.pool, userId, spec.model_id_suffix).catch((err) => {
      throw unavailableBecause('the database', err);
    });
    let created = false;
    if (!row) {
      const now = new Date();
      const fresh = { modelKey: newModelKey(userId, now), userId, suffix: spec.model_id_suffix, prefix: modelIdPrefix(userId, now), spec, createdAt: now };
      created = await insertModel(this.pool, fresh);
      row = created ? { ...fresh, state: 'QUEUED', revision: 0, errorSummary: null, updatedAt: now, deletedAt: null, observed: null } : await findLiveModelBySuffix(this.pool, userId, spec.model_id_suffix);
      if (!row) throw conflict('suffix_conflict', `model_id ${spec.model_id_suffix} is being created by another request; retry`);
    }
    if (row.state === 'DELETING') throw conflict('model_busy', `model ${row.modelKey} (${spec.model_id_suffix}) is being deleted; POST again once it is DELETED`);
    try {
      const operation = this.startOperation(row, spec);
      return await this.withinDeadline(() => this.temporal.workflow.executeUpdateWithStart(deployUpdate, { args: [spec], startWorkflowOperation: operation }));
    } catch (err) {
      if (created) {
        // A deadline that passed does not undo the start: the workflow may exist and will take the
        // request once a worker gets to it. Its row then stays, so the client's retry reaches the
        // same workflow (and gets its answer) instead of starting a second one for a row that is gone.
        if (await this.workflowExists(row.modelKey)) throw startedButUnacknowledged(row.modelKey, err);
        await deleteUnstartedModel(this.pool, row.modelKey).catch(() => undefined);
      }
      // The model this suffix named finished deleting between our read and the update; its row is
      // DELETED by now, so asking again creates a new model, as a POST after DELETED should.
      if (err instanceof WorkflowExecutionAlreadyStartedError && !created && attempt === 1) return this.deploy(userId, spec, 2);
      translate(err, row.modelKey);
    }
  }

  /** Whether the model's workflow was started; false when that cannot be told (Temporal unreachable). */
  private async workflowExists(modelKey: string): Promise<boolean> {
    try {
      await this.temporal.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => this.temporal.workflow.getHandle(workflowIdFor(modelKey)).describe());
      return true;
    } catch {
      return false;
    }
  }

  /** PATCH of engine_kwargs: the whole new spec goes to the existing workflow as a deploy. */
  async redeploy(modelKey: string, spec: ServingSpec): Promise<RequestAck> {
    return this.updateExisting(modelKey, (handle) => handle.executeUpdate(deployUpdate, { args: [spec] }));
  }

  /** A number is a fixed replica count. */
  async scale(modelKey: string, request: ScaleRequest | number): Promise<RequestAck> {
    const body: ScaleRequest = typeof request === 'number' ? { num_replicas: request } : request;
    return this.updateExisting(modelKey, (handle) => handle.executeUpdate(scaleUpdate, { args: [body] }));
  }

  async delete(modelKey: string): Promise<RequestAck> {
    return this.updateExisting(modelKey, (handle) => handle.executeUpdate(deleteUpdate), (row) =>
      // The workflow ends only after recording DELETED: a delete that finds it closed is already done.
      row.state === 'DELETED' ? { model_key: modelKey, state: 'DELETED', revision: row.revision, changed: false } : null,
    );
  }

  /**
   * Sends an update to the model's workflow. A workflow not found is either closed (the model was
   * deleted: `whenClosed` may answer for it) or not started yet: a model listed the moment its
   * POST inserted the row, before update-with-start created the workflow. That one is asked
   * again until the ack deadline, rather than reported as deleted.
   */
  private async updateExisting(
    modelKey: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<RequestAck>,
    whenClosed: (row: ModelRow) => RequestAck | null = () => null,
  ): Promise<RequestAck> {
    const deadline = Date.now() + ACK_TIMEOUT_MS;
    for (;;) {
      try {
        return await this.withinDeadline(() => send(this.temporal.workflow.getHandle(workflowIdFor(modelKey))));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          const row = await getModel(this.pool, modelKey).catch(() => null);
          const answer = row ? whenClosed(row) : null;
          if (answer) return answer;
          const notStartedYet = row !== null && row.state === 'QUEUED' && row.revision === 0;
          if (notStartedYet && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            continue;
          }
        }
        translate(err, modelKey);
      }
    }
  }
}
