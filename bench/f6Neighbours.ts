/**
 * F6 neighbours: on a real Ray node with the CPU stand-in server, N models RUNNING in the
 * product's layout (one app per model behind the ingress app), then one change at a time through
 * the product: add a model, redefine one (engine_kwargs: blue/green), scale one, remove one, add
 * one that fails to start. Throughout, a loop of 1-token chat completions through the ingress to
 * the models no change touches. Reports whether any of their replicas or the ingress's restarted
 * and whether any of their chats failed.
 *
 * Baselines, in the same run on the same node:
 * - Ray's stock layout (every model in one `build_openai_app` app): the same N models deployed
 *   side by side with the product's (under route /f6-stock), chat latency sampled alternately
 *   from both while nothing changes;
 * - the add: a raw PUT of the same cluster body the product would send for one more model, then
 *   polling until its app is RUNNING and a chat through the ingress answers.
 */
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { listDesiredEntries } from '../src/db/clusterModels';
import type { ModelState } from '../src/domain/lifecycle';
import { modelIdPrefix, newModelKey, publicModelId } from '../src/domain/naming';
import { validateServingSpec } from '../src/domain/servingSpec';
import { isManagedApp, isPlacement, renderClusterBody } from '../src/ray/clusterLayout';
import { RayDashboardClient } from '../src/ray/dashboardClient';
import { INGRESS_DEPLOYMENT } from '../src/ray/ingressApp';
import { ModelPlacement, nextPlacement } from '../src/ray/modelPlacement';
import { type RenderSettings, renderSettingsOf, type ServeApplication } from '../src/ray/serveConfig';
import { assessModel } from '../src/ray/serveStatus';
import { renderManagedApplication, renderModelConfig, renderSingleAppBody } from '../src/ray/singleAppLayout';
import { benchConfig, callApi, createUsers, expectStatus, resetDatabase, RunningProduct, startProduct } from './lib/product';
import { median, percentile, round, sleep } from './lib/stats';
import { startClusterWorkflows } from '../src/worker/startClusterWorkflows';
import { clusterReconcilerWorkflowId } from '../src/workflows/clusterReconcilerWorkflow';

export interface F6Options {
  /** Models RUNNING before the changes (the issue's 20). */
  models: number;
  /** Chats per layout for the latency comparison (after the warm-up ones). */
  latencySamples: number;
  warmupSamples: number;
  /** Bounds of the chat loop that runs while the changes happen. */
  maxLoopChats: number;
  maxLoopS: number;
  rayDashboardUrl: string;
  ingressUrl: string;
}

const USER = 'f6user';
const SOURCE = '/private/hf/demo/tiny-chat';
/** The stock layout's app: a name the product does not manage, on a route of its own beside the ingress's "/". */
const STOCK_APP = 'f6_stock_baseline';
const STOCK_ROUTE = '/f6-stock';
const POLL_MS = 250;
const STEP_TIMEOUT_MS = 600_000;
/** Pause between two chats of the loop: it watches the neighbours, it is not a load test. */
const LOOP_PAUSE_MS = 50;
/** How often the replica ids are read while the changes happen. */
const REPLICA_POLL_MS = 2_000;
const CHAT_TIMEOUT_MS = 30_000;

type Log = (line: string) => void;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`F6: ${what} not within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

interface ChatAnswer {
  ok: boolean;
  ms: number;
  detail: string;
}

/** One 1-token chat completion; ok only with a 200 that names the model asked for. */
async function chat(baseUrl: string, modelId: string): Promise<ChatAnswer> {
  const started = performance.now();
  try {
    const response = await request(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
      headersTimeout: CHAT_TIMEOUT_MS,
      bodyTimeout: CHAT_TIMEOUT_MS,
    });
    const text = await response.body.text();
    const ms = performance.now() - started;
    if (response.statusCode !== 200) return { ok: false, ms, detail: `${response.statusCode}: ${text.slice(0, 300)}` };
    const answered = (JSON.parse(text) as { model?: string }).model;
    if (answered !== modelId) return { ok: false, ms, detail: `200 from the wrong model: asked ${modelId}, answered ${answered}` };
    return { ok: true, ms, detail: 'answered' };
  } catch (err) {
    return { ok: false, ms: performance.now() - started, detail: `no answer: ${(err as Error).message}` };
  }
}

/** Replica ids per `<app>/<deployment>`, as GET /api/serve/applications/ reports them. */
async function replicaIds(rayUrl: string): Promise<Map<string, string[]>> {
  const response = await request(`${rayUrl}/api/serve/applications/`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  const body = (await response.body.json()) as { applications?: Record<string, { deployments?: Record<string, { replicas?: Array<{ replica_id: string }> }> }> };
  const ids = new Map<string, string[]>();
  for (const [appName, app] of Object.entries(body.applications ?? {})) {
    for (const [deploymentName, deployment] of Object.entries(app.deployments ?? {})) {
      ids.set(`${appName}/${deploymentName}`, (deployment.replicas ?? []).map((r) => r.replica_id));
    }
  }
  return ids;
}

/** Logical GPUs of the node (each stand-in replica reserves one, as a real model would); null if Ray does not say. */
async function clusterGpus(rayUrl: string): Promise<number | null> {
  try {
    const response = await request(`${rayUrl}/api/cluster_status`, { headersTimeout: 10_000 });
    const body = (await response.body.json()) as { data?: { clusterStatus?: { loadMetricsReport?: { usage?: Record<string, [number, number]> } } } };
    const gpu = body.data?.clusterStatus?.loadMetricsReport?.usage?.GPU;
    return gpu ? gpu[1] : null;
  } catch {
    return null;
  }
}

interface ProductModel {
  modelKey: string;
  modelId: string;
  suffix: string;
}

interface ModelView {
  state: ModelState;
  error_summary: string | null;
  num_replicas: number;
  model_id: string;
}

interface EventView {
  seq: number;
  event_type: string;
  payload: Record<string, unknown>;
}

/** The product as a client drives it: the API of the in-process product. */
class ProductClient {
  constructor(
    private readonly product: RunningProduct,
    private readonly token: string,
  ) {}

  async post(suffix: string, engineKwargs: Record<string, unknown> = {}): Promise<ProductModel> {
    const ack = await callApi(`${this.product.apiUrl}/api/v2/serve/models`, 'POST', this.token, {
      type: 'application/json',
      text: JSON.stringify({ model_id: suffix, model_source: SOURCE, engine_kwargs: engineKwargs }),
    });
    expectStatus(ack, 202, `POST ${suffix}`);
    const modelKey = (ack.body as { model_key: string }).model_key;
    return { modelKey, modelId: (await this.detail(modelKey)).model.model_id, suffix };
  }

  async patch(modelKey: string, body: Record<string, unknown>): Promise<void> {
    expectStatus(await callApi(`${this.product.apiUrl}/api/v2/serve/models/${modelKey}`, 'PATCH', this.token, { type: 'application/json', text: JSON.stringify(body) }), 200, 'PATCH');
  }

  async delete(modelKey: string): Promise<void> {
    expectStatus(await callApi(`${this.product.apiUrl}/api/v2/serve/models/${modelKey}`, 'DELETE', this.token), 200, 'DELETE');
  }

  async detail(modelKey: string): Promise<{ model: ModelView; events: EventView[] }> {
    const got = await callApi(`${this.product.apiUrl}/api/v2/serve/models/${modelKey}`, 'GET', this.token);
    expectStatus(got, 200, 'GET model');
    return got.body as { model: ModelView; events: EventView[] };
  }

  async lastSeq(modelKey: string): Promise<number> {
    return Math.max(0, ...(await this.detail(modelKey)).events.map((e) => e.seq));
  }

  /** Waits for one of `done` among the events after `afterSeq`; `fail` (if seen first) ends the wait with an error. */
  async waitForEvent(modelKey: string, afterSeq: number, done: string[], fail: string[] = []): Promise<EventView[]> {
    let events: EventView[] = [];
    await until(`${modelKey}: ${done.join(' or ')}`, async () => {
      events = (await this.detail(modelKey)).events.filter((e) => e.seq > afterSeq);
      const failed = events.find((e) => fail.includes(e.event_type));
      if (failed) throw new Error(`F6: ${modelKey} recorded ${failed.event_type}: ${JSON.stringify(failed.payload).slice(0, 500)}`);
      return events.some((e) => done.includes(e.event_type));
    });
    return events;
  }
}

interface Tally {
  chats: number;
  failed: number;
  failures: string[];
  ms: number[];
}

const newTally = (): Tally => ({ chats: 0, failed: 0, failures: [], ms: [] });

function record(tally: Tally, modelId: string, answer: ChatAnswer, phase: string): void {
  tally.chats += 1;
  tally.ms.push(answer.ms);
  if (answer.ok) return;
  tally.failed += 1;
  if (tally.failures.length < 10) tally.failures.push(`${phase}: ${modelId}: ${answer.detail}`);
}

/**
 * The watch kept while the changes happen: chats to the neighbours (and, apart, to the models
 * being redefined and scaled, which should not fail either), and the replica ids of the
 * neighbours' apps and the ingress, read every few seconds.
 */
class Watch {
  readonly neighbours = newTally();
  readonly changed = newTally();
  phase = 'starting';
  stoppedBy: 'changes done' | 'chat count bound' | 'time bound' = 'changes done';
  /** Initial replica ids that were seen gone at some read: each a restart (or a replica stopped). */
  readonly gone = new Set<string>();
  /** Replica ids that appeared after the first read. */
  readonly appeared = new Set<string>();
  readonly goneDetail: string[] = [];
  private stopped = false;
  private readonly started = performance.now();
  private chatLoop: Promise<void> = Promise.resolve();
  private replicaLoop: Promise<void> = Promise.resolve();
  replicaReads = 0;

  constructor(
    private readonly options: F6Options,
    private readonly neighbourIds: string[],
    private readonly changedIds: string[],
    /** `<app>/<deployment>` keys watched, with their replica ids at the start. */
    private readonly initial: Map<string, string[]>,
  ) {}

  start(): void {
    // Two chats of three go to the neighbours (round robin), the third to a changed model.
    const pick = (i: number) => {
      const round = Math.floor(i / 3);
      if (i % 3 === 2 && this.changedIds.length > 0) return { id: this.changedIds[round % this.changedIds.length] as string, tally: this.changed };
      return { id: this.neighbourIds[(round * 2 + (i % 3)) % this.neighbourIds.length] as string, tally: this.neighbours };
    };
    this.chatLoop = (async () => {
      for (let i = 0; !this.stopped; i++) {
        if (this.neighbours.chats + this.changed.chats >= this.options.maxLoopChats) {
          this.stoppedBy = 'chat count bound';
          return;
        }
        if ((performance.now() - this.started) / 1000 > this.options.maxLoopS) {
          this.stoppedBy = 'time bound';
          return;
        }
        const target = pick(i);
        record(target.tally, target.id, await chat(this.options.ingressUrl, target.id), this.phase);
        await sleep(LOOP_PAUSE_MS);
      }
    })();
    this.replicaLoop = (async () => {
      while (!this.stopped) {
        await this.readReplicas();
        await sleep(REPLICA_POLL_MS);
      }
    })();
  }

  async readReplicas(): Promise<void> {
    let now: Map<string, string[]>;
    try {
      now = await replicaIds(this.options.rayDashboardUrl);
    } catch {
      return; // the dashboard busy: the next read tells
    }
    this.replicaReads += 1;
    for (const [key, ids] of this.initial) {
      const current = now.get(key) ?? [];
      for (const id of ids) {
        if (!current.includes(id) && !this.gone.has(id)) {
          this.gone.add(id);
          this.goneDetail.push(`${this.phase}: ${key} replica ${id} gone (now ${current.join(', ') || 'none'})`);
        }
      }
      for (const id of current) if (!ids.includes(id)) this.appeared.add(`${key}/${id}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chatLoop;
    await this.replicaLoop;
    await this.readReplicas();
  }

  goneOf(keyPrefix: (key: string) => boolean): number {
    return [...this.initial].filter(([key]) => keyPrefix(key)).reduce((n, [, ids]) => n + ids.filter((id) => this.gone.has(id)).length, 0);
  }
}

/** The product's apps as it last PUT them, from its desired set (sorted by model key, as its writer sends them). */
async function productApps(product: RunningProduct, render: RenderSettings): Promise<{ placements: ModelPlacement[]; apps: ServeApplication[] }> {
  const entries = await listDesiredEntries(product.pool, product.config.serving.cluster_id);
  const placements = entries
    .sort((a, b) => a.modelKey.localeCompare(b.modelKey))
    .flatMap((e) => (e.modelConfig && isPlacement(e.modelConfig) ? [e.modelConfig] : []));
  return { placements, apps: renderClusterBody(placements, [], render).applications };
}

export async function runF6(options: F6Options, log: Log): Promise<{ summary: Record<string, number> } & Record<string, unknown>> {
  const config = benchConfig(options.rayDashboardUrl, { ARGUS_INGRESS_URL: options.ingressUrl });
  const render: RenderSettings = renderSettingsOf(config);
  if (!render.engine.server_cls) throw new Error('F6 needs the CPU stand-in server (ARGUS_LLM_SERVER_CLS)');
  const dashboard = new RayDashboardClient(options.rayDashboardUrl, 120_000);
  const stockUrl = `${options.ingressUrl}${STOCK_ROUTE}`;

  // Each replica reserves one logical GPU: the stock layout beside the product's holds 2N.
  const gpusNeeded = Math.max(2 * options.models, options.models + 4);
  const gpus = await clusterGpus(options.rayDashboardUrl);
  if (gpus !== null && gpus < gpusNeeded) {
    throw new Error(`F6 with ${options.models} models needs ${gpusNeeded} logical GPUs on the Ray node, which has ${gpus} (start it with RAY_NUM_GPUS=${gpusNeeded} or more)`);
  }

  const clusterEmpty = async () => Object.keys((await dashboard.getServeDetails()).applications).length === 0;
  await dashboard.putServeApplications({ applications: [] });
  await until('an empty cluster', clusterEmpty);
  const product = await startProduct(config);
  const steps: Record<string, number | string> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    steps[`${name}_s`] = round((performance.now() - started) / 1000, 2);
    log(`F6: ${name} in ${steps[`${name}_s`]} s`);
    return result;
  };
  try {
    await resetDatabase(product.pool);
    const token = (await createUsers(product.pool, [USER])).get(USER) as string;
    const api = new ProductClient(product, token);

    // 1. N models through the product, all at once (its writer batches them), until every one is RUNNING.
    const models = await timed(`deploy_${options.models}_models`, async () => {
      const posted = await Promise.all(Array.from({ length: options.models }, (_, i) => api.post(`m${i}`)));
      await until(`${options.models} models RUNNING`, async () => {
        const states = await Promise.all(posted.map(async (m) => (await api.detail(m.modelKey)).model));
        const failed = states.find((s) => s.state === 'FAILED');
        if (failed) throw new Error(`F6: ${failed.model_id} FAILED: ${failed.error_summary}`);
        return states.every((s) => s.state === 'RUNNING');
      });
      return posted;
    });

    // 2. Ray's stock layout beside it: the same models in one build_openai_app app, then chat
    // latency from both layouts, alternating, with nothing changing.
    const productReplicasBeforeStock = await replicaIds(options.rayDashboardUrl);
    const stockModels = models.map((m) => {
      const spec = validateServingSpec({ model_id: m.suffix, model_source: SOURCE }, { userId: USER, allowStandInKnobs: true });
      return renderModelConfig(m.modelId, spec, 'stock', render);
    });
    const stockApp: ServeApplication = { ...renderManagedApplication(STOCK_APP, stockModels), route_prefix: STOCK_ROUTE };
    await timed('stock_layout_up', async () => {
      const { apps } = await productApps(product, render);
      await dashboard.putServeApplications(renderSingleAppBody(stockApp, apps));
      await until('the stock layout RUNNING', async () => (await dashboard.getServeDetails()).applications[STOCK_APP]?.status === 'RUNNING');
      for (const m of models) await until(`${m.modelId} answering in the stock layout`, async () => (await chat(stockUrl, m.modelId)).ok, 120_000);
    });
    const ingressMs: number[] = [];
    const stockMs: number[] = [];
    const latencyFailures: string[] = [];
    for (let i = 0; i < options.warmupSamples + options.latencySamples; i++) {
      const m = models[i % models.length] as ProductModel;
      // Alternating which layout goes first, so neither always follows the other.
      const order = i % 2 === 0 ? (['ingress', 'stock'] as const) : (['stock', 'ingress'] as const);
      for (const layout of order) {
        const answer = await chat(layout === 'ingress' ? options.ingressUrl : stockUrl, m.modelId);
        if (!answer.ok) {
          if (latencyFailures.length < 10) latencyFailures.push(`${layout}: ${m.modelId}: ${answer.detail}`);
          continue;
        }
        if (i >= options.warmupSamples) (layout === 'ingress' ? ingressMs : stockMs).push(answer.ms);
      }
    }
    if (ingressMs.length === 0 || stockMs.length === 0) throw new Error(`F6: no chat answered in one of the layouts: ${latencyFailures.join('; ')}`);
    log(`F6: chat through the ingress p50 ${round(median(ingressMs))} ms p99 ${round(percentile(ingressMs, 99))} ms; stock layout p50 ${round(median(stockMs))} ms p99 ${round(percentile(stockMs, 99))} ms (${latencyFailures.length} failed)`);
    await timed('stock_layout_down', async () => {
      const { apps } = await productApps(product, render);
      await dashboard.putServeApplications({ applications: apps });
      await until('the stock layout to go', async () => !(STOCK_APP in (await dashboard.getServeDetails()).applications));
    });
    const productReplicasAfterStock = await replicaIds(options.rayDashboardUrl);
    const restartedByStock = [...productReplicasBeforeStock].flatMap(([key, ids]) => ids.filter((id) => !(productReplicasAfterStock.get(key) ?? []).includes(id)).map((id) => `${key}/${id}`));

    // 3. The changes, one at a time, with the watch running.
    const [redefined, scaled, removed, ...neighbours] = models as [ProductModel, ProductModel, ProductModel, ...ProductModel[]];
    if (neighbours.length === 0) throw new Error('F6 needs at least 4 models (3 changed, the rest neighbours)');
    const { placements } = await productApps(product, render);
    const neighbourApps = new Set(neighbours.map((n) => placements.find((p) => p.model_id === n.modelId)?.routed_app as string));
    const ingressKey = `${render.appName}/${INGRESS_DEPLOYMENT}`;
    const initialIds = await replicaIds(options.rayDashboardUrl);
    const watched = new Map([...initialIds].filter(([key]) => key === ingressKey || neighbourApps.has(key.slice(0, key.indexOf('/')))));
    if (!watched.has(ingressKey)) throw new Error(`F6: Ray reports no ${ingressKey}`);
    // Else the watch would see nothing restart because it watches nothing.
    if (watched.size < neighbours.length + 1) throw new Error(`F6: found ${watched.size - 1} deployments for ${neighbours.length} neighbour models in Ray's status`);
    const watch = new Watch(options, neighbours.map((n) => n.modelId), [redefined.modelId, scaled.modelId], watched);
    watch.start();
    const strategy: Record<string, string> = {};
    let addRawS = NaN;
    let addRunningS = NaN;
    try {
      // The raw add first: one PUT of the body the product would send with one more model (its
      // app and the ingress's new route), then poll until the app runs and a chat answers; then
      // the same body without it, back to what the product last sent.
      watch.phase = 'raw add';
      // The product's reconciler would rightly remove an app named like one of its models that no
      // model owns (within a second, as it did here): it is paused for the raw add and started again.
      await product.client.workflow.getHandle(clusterReconcilerWorkflowId(config.serving.cluster_id)).terminate('F6: a raw add of an app no model owns');
      await timed('raw_add_and_remove', async () => {
        const now = new Date();
        const modelKey = newModelKey(USER, now);
        const modelId = publicModelId(modelIdPrefix(USER, now), 'raw-add');
        const spec = validateServingSpec({ model_id: 'raw-add', model_source: SOURCE }, { userId: USER, allowStandInKnobs: true });
        const placement = nextPlacement(null, 'replace', { modelKey, modelId, spec, marker: 'r1' }, render);
        const app = placement.apps[0] as ModelPlacement['apps'][number];
        const current = await productApps(product, render);
        const started = performance.now();
        const foreign = await dashboard.getForeignApplications((name) => isManagedApp(name, render));
        await dashboard.putServeApplications(renderClusterBody([...current.placements, placement], foreign, render));
        await until('the raw model app RUNNING', async () => {
          const details = await dashboard.getDeploymentDetails(app.app_name, app.deployment.name);
          const assessment = assessModel(details, app.app_name, app.deployment.name, 1, 'r1');
          if (assessment.phase === 'failed') throw new Error(`F6 raw add failed: ${assessment.message}`);
          return assessment.phase === 'healthy' && details.applications[app.app_name]?.status === 'RUNNING';
        });
        await until('the raw model answering through the ingress', async () => (await chat(options.ingressUrl, modelId)).ok);
        addRawS = (performance.now() - started) / 1000;
        await dashboard.putServeApplications(renderClusterBody(current.placements, foreign, render));
        await until('the raw model app to go', async () => !(app.app_name in (await dashboard.getServeDetails()).applications));
      });
      await startClusterWorkflows(config);

      // Add: POST -> RUNNING through the product.
      watch.phase = 'add';
      await timed('add', async () => {
        const started = performance.now();
        const added = await api.post(`m${options.models}`);
        await api.waitForEvent(added.modelKey, 0, ['RUNNING'], ['DEPLOY_FAILED']);
        addRunningS = (performance.now() - started) / 1000;
      });

      // Redefine: an engine_kwargs change starts the new revision beside the serving one.
      watch.phase = 'redefine';
      await timed('redefine', async () => {
        const since = await api.lastSeq(redefined.modelKey);
        await api.patch(redefined.modelKey, { engine_kwargs: { max_num_seqs: 64 } });
        const events = await api.waitForEvent(redefined.modelKey, since, ['RUNNING', 'ROLLED_BACK'], ['DEPLOY_FAILED']);
        strategy.redefine = events.some((e) => e.event_type === 'SURGE_UNAVAILABLE') ? 'in place (no room beside)' : String(events.find((e) => e.event_type === 'APPLY_STARTED')?.payload.strategy ?? 'in place');
      });

      // Scale: one more replica, in place.
      watch.phase = 'scale';
      await timed('scale', async () => {
        const since = await api.lastSeq(scaled.modelKey);
        await api.patch(scaled.modelKey, { num_replicas: 2 });
        await api.waitForEvent(scaled.modelKey, since, ['RUNNING'], ['DEPLOY_FAILED']);
      });

      // Remove.
      watch.phase = 'remove';
      await timed('remove', async () => {
        const since = await api.lastSeq(removed.modelKey);
        await api.delete(removed.modelKey);
        await api.waitForEvent(removed.modelKey, since, ['DELETED']);
      });

      // Add a model whose engine fails to start: FAILED, and taken off the cluster.
      watch.phase = 'failing add';
      await timed('failing_add', async () => {
        const failing = await api.post(`m${options.models + 1}-fails`, { standin_fail_on_start: 'boom' });
        await api.waitForEvent(failing.modelKey, 0, ['REMOVED_FROM_CLUSTER'], ['RUNNING']);
        const state = (await api.detail(failing.modelKey)).model.state;
        if (state !== 'FAILED') throw new Error(`F6: the failing model ended ${state}, not FAILED`);
      });
      watch.phase = 'after the changes';
      // One more read after the last change settled, so a late restart is seen.
      await sleep(REPLICA_POLL_MS);
    } finally {
      await watch.stop();
    }

    const neighbourRestarts = watch.goneOf((key) => key !== ingressKey);
    const ingressRestarts = watch.goneOf((key) => key === ingressKey);
    log(`F6: neighbour chats ${watch.neighbours.chats} (${watch.neighbours.failed} failed), changed-model chats ${watch.changed.chats} (${watch.changed.failed} failed); loop ended: ${watch.stoppedBy}`);
    log(`F6: neighbour replicas restarted ${neighbourRestarts}, ingress replicas restarted ${ingressRestarts}${watch.goneDetail.length ? `: ${watch.goneDetail.join('; ')}` : ''}`);
    if (watch.neighbours.failures.length + watch.changed.failures.length > 0) log(`F6: failed chats: ${[...watch.neighbours.failures, ...watch.changed.failures].join('; ')}`);
    const ingressP50 = median(ingressMs);
    const stockP50 = median(stockMs);
    return {
      summary: {
        f6_models: options.models,
        f6_neighbour_restarts: neighbourRestarts,
        f6_neighbour_failed_chats: watch.neighbours.failed,
        f6_ingress_restarts: ingressRestarts,
        f6_ingress_chat_p50_ms: round(ingressP50),
        f6_ingress_chat_p99_ms: round(percentile(ingressMs, 99)),
        f6_stock_chat_p50_ms: round(stockP50),
        f6_stock_chat_p99_ms: round(percentile(stockMs, 99)),
        f6_ingress_chat_p50_ratio: round(ingressP50 / stockP50, 2),
        f6_add_running_s: round(addRunningS, 2),
        f6_add_raw_s: round(addRawS, 2),
        f6_add_ratio: round(addRunningS / addRawS, 2),
      },
      steps_s: steps,
      redefine_strategy: strategy.redefine ?? 'unknown',
      latency: {
        samples_per_layout: { ingress: ingressMs.length, stock: stockMs.length },
        failed: latencyFailures,
      },
      watch: {
        neighbours: neighbours.length,
        neighbour_chats: watch.neighbours.chats,
        neighbour_chat_p50_ms: round(median(watch.neighbours.ms)),
        neighbour_chat_p99_ms: round(percentile(watch.neighbours.ms, 99)),
        changed_model_chats: watch.changed.chats,
        changed_model_failed_chats: watch.changed.failed,
        failures: [...watch.neighbours.failures, ...watch.changed.failures],
        loop_ended_by: watch.stoppedBy,
        replica_reads: watch.replicaReads,
        replicas_gone: watch.goneDetail,
        replicas_added: [...watch.appeared],
      },
      product_replicas_restarted_by_the_stock_put: restartedByStock,
    };
  } finally {
    await product.close();
    // Leaves the node as F6 found it.
    await dashboard.putServeApplications({ applications: [] }).catch(() => undefined);
    await until('an empty cluster after F6', clusterEmpty, 120_000).catch((err: Error) => log(`F6: ${err.message}`));
  }
}
