import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';

/** Repository root: config paths that are relative are taken from here. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..'); // src/config or dist/config

/** A GET path an engine answers 2xx on when healthy; `{model}` stands for the model's public name. */
const probePath = z.string().regex(/^\/[A-Za-z0-9._~\-/{}]*$/, 'must be an absolute URL path such as /health or /v2/models/{model}/ready');

/**
 * Health endpoints an engine serves itself, probed after the three standard readiness checks.
 * `engine` picks one of `sets` (null: none, as for Ray Serve LLM's in-process engines);
 * `base_url` is where those endpoints answer (null: the ingress).
 */
const engineProbesSchema = z
  .object({
    engine: z.string().min(1).nullable(),
    base_url: z.string().url().nullable(),
    sets: z.record(z.string(), z.array(probePath)),
  })
  .strict()
  .refine((p) => p.engine === null || p.engine in p.sets, { message: 'engine must name one of the probe sets', path: ['engine'] });

/**
 * What the platform sets for every model on one engine (config/dev.yaml documents each key).
 * Users never set these; the engine_kwargs here win over the user's.
 */
const engineSettingsSchema = z
  .object({
    server_cls: z
      .string()
      .regex(/^[A-Za-z_][\w.]*:[A-Za-z_]\w*$/, 'must look like "package.module:ClassName"')
      .nullable()
      .default(null),
    accelerator_config: z.record(z.string(), z.unknown()).nullable().default(null),
    placement_bundles: z.array(z.record(z.string(), z.number().nonnegative())).min(1).nullable().default(null),
    replica_num_cpus: z.number().positive().nullable().default(null),
    engine_kwargs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    health_check_period_s: z.number().positive().nullable().default(null),
    health_check_timeout_s: z.number().positive().nullable().default(null),
    max_constructor_retry_count: z.number().int().positive().nullable().default(null),
    /** Dotted path of the replicas' worker setup hook (null: Ray Serve LLM's own). */
    worker_setup_hook: z
      .string()
      .regex(/^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+$/, 'must be a dotted path such as "package.module.function"')
      .nullable()
      .default(null),
  })
  .strict();

export type EngineSettings = z.infer<typeof engineSettingsSchema>;

const configSchema = z
  .object({
    api: z
      .object({
        /** 0: any free port (the "API listening" log line names it). */
        port: z.coerce.number().int().min(0).max(65535),
        /** Authenticated requests per token and minute; 0 turns the limit off. */
        rate_limit_per_minute: z.coerce.number().int().min(0).default(600),
        /**
         * How long a token that authenticated is remembered by one API process; 0 turns the cache
         * off. A token revoked through another replica keeps working here for at most this long.
         */
        token_cache_ttl_s: z.coerce.number().min(0).max(300).default(5),
        /** GET /metrics on its own port (no token: bind it where only Prometheus reaches); null: on the API's port. */
        metrics_port: z.preprocess((v) => (v === null || v === undefined ? null : Number(v)), z.number().int().min(1).max(65535).nullable()).default(null),
      })
      .strict(),
    database: z.object({ url: z.string().url() }).strict(),
    worker: z
      .object({
        /** GET /metrics of the worker on this port (no token); null: not served. */
        metrics_port: z.preprocess((v) => (v === null || v === undefined ? null : Number(v)), z.number().int().min(1).max(65535).nullable()).default(null),
      })
      .strict()
      .default({ metrics_port: null }),
    temporal: z
      .object({
        address: z.string().min(1),
        namespace: z.string().min(1),
        task_queue: z.string().min(1),
        /**
         * Workflows a worker keeps in memory between their tasks; the others are replayed from their
         * (short, continued-as-new) history when a message reaches them. Left to the SDK, the cache
         * grows with the heap limit (about 2,300 on a 4 GiB heap), and so does the worker's memory.
         */
        max_cached_workflows: z.coerce.number().int().min(0).max(100_000).default(1_000),
      })
      .strict(),
    serving: z
      .object({
        cluster_id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
        app_name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        ray_dashboard_url: z.string().url(),
        openai_base_url: z.string().url(),
        ingress_url: z.string().url(),
        storage_root: z.string().min(1),
        readiness_timeout_s: z.coerce.number().int().min(10).max(24 * 3600),
        /**
         * How long a new revision started beside the serving one (blue/green) may wait for the
         * cluster to place its replicas before the rollout falls back to replacing in place.
         */
        surge_wait_s: z.coerce.number().int().min(0).max(24 * 3600).default(60),
        llm: z
          .object({
            accelerator_type: z.string().min(1).nullable(),
            /**
             * The GPU types a spec may ask for (`accelerator_type`); null: only accelerator_type
             * above. A comma-separated list from the environment.
             */
            accelerator_types: z
              .preprocess((v) => (typeof v === 'string' ? v.split(',').map((t) => t.trim()).filter(Boolean) : v), z.array(z.string().min(1)).min(1).nullable())
              .default(null),
            engine: z.string().min(1),
            engines: z.record(z.string(), engineSettingsSchema),
          })
          .strict()
          .refine((llm) => llm.engine in llm.engines, { message: 'engine must name one of llm.engines', path: ['engine'] }),
        /** Each user's share when an admin set none (PUT /api/v2/users/{user_id}/quota); null is no limit. */
        quotas: z
          .object({
            default_max_gpus: z.preprocess((v) => (v === null || v === undefined ? null : Number(v)), z.number().int().min(0).nullable()),
            default_max_models: z.preprocess((v) => (v === null || v === undefined ? null : Number(v)), z.number().int().min(0).nullable()),
          })
          .strict()
          .default({ default_max_gpus: null, default_max_models: null }),
        /** How fast autoscaled models react; users set their range, target and idle time. */
        autoscaling: z
          .object({
            upscale_delay_s: z.coerce.number().min(0).max(3600),
            downscale_delay_s: z.coerce.number().min(0).max(24 * 3600),
            metrics_interval_s: z.coerce.number().positive().max(600),
            look_back_period_s: z.coerce.number().positive().max(3600),
          })
          .strict()
          .default({ upscale_delay_s: 10, downscale_delay_s: 60, metrics_interval_s: 2, look_back_period_s: 10 }),
        engine_probes: engineProbesSchema.default({ engine: null, base_url: null, sets: {} }),
        reconcile: z
          .object({
            /** Seconds between two looks at the cluster (one Serve status read each, whatever the model count); 0 turns the reconciler off. */
            interval_s: z.coerce.number().min(0).max(3600),
            /** How long a model may run short of replicas (Ray replacing one) before it is DEGRADED. */
            replica_grace_s: z.coerce.number().min(0).max(3600),
            /** How long a DEGRADED model is left to Ray's own recovery before its revision is applied again. */
            ray_recovery_wait_s: z.coerce.number().min(0).max(24 * 3600),
            /** While a model's state contradicts what the cluster shows, how often its workflow is told again. */
            remind_after_s: z.coerce.number().min(1).max(3600),
          })
          .strict()
          .default({ interval_s: 5, replica_grace_s: 30, ray_recovery_wait_s: 60, remind_after_s: 60 }),
      })
      .strict(),
  })
  .strict();

export type AppConfig = z.infer<typeof configSchema>;

/** The settings of the engine model replicas run (serving.llm.engine). */
export function engineSettingsOf(config: AppConfig): EngineSettings {
  const settings = config.serving.llm.engines[config.serving.llm.engine];
  if (!settings) throw new ConfigError(`serving.llm.engine names no engine: ${config.serving.llm.engine}`);
  return settings;
}

/** The GPU types specs may ask for; the first is the default. */
export function acceleratorTypesOf(config: AppConfig): string[] {
  const { accelerator_types: types, accelerator_type: fallback } = config.serving.llm;
  return types ?? (fallback ? [fallback] : []);
}

/** The probe URLs' base and paths readiness adds for the configured engine (none when no engine is set). */
export function engineProbesFor(config: AppConfig): { baseUrl: string; paths: string[] } | undefined {
  const probes = config.serving.engine_probes;
  if (probes.engine === null) return undefined;
  return { baseUrl: probes.base_url ?? config.serving.ingress_url, paths: probes.sets[probes.engine] ?? [] };
}

/** Environment variables that override single keys of the file (documented in config/dev.yaml). */
const ENV_OVERRIDES: ReadonlyArray<[string, string[]]> = [
  ['API_PORT', ['api', 'port']],
  ['ARGUS_RATE_LIMIT_PER_MINUTE', ['api', 'rate_limit_per_minute']],
  ['ARGUS_TOKEN_CACHE_TTL_S', ['api', 'token_cache_ttl_s']],
  ['ARGUS_API_METRICS_PORT', ['api', 'metrics_port']],
  ['ARGUS_DATABASE_URL', ['database', 'url']],
  ['ARGUS_WORKER_METRICS_PORT', ['worker', 'metrics_port']],
  ['TEMPORAL_ADDRESS', ['temporal', 'address']],
  ['TEMPORAL_NAMESPACE', ['temporal', 'namespace']],
  ['ARGUS_TASK_QUEUE', ['temporal', 'task_queue']],
  ['ARGUS_MAX_CACHED_WORKFLOWS', ['temporal', 'max_cached_workflows']],
  ['ARGUS_CLUSTER_ID', ['serving', 'cluster_id']],
  ['ARGUS_SERVE_APP_NAME', ['serving', 'app_name']],
  ['RAY_DASHBOARD_URL', ['serving', 'ray_dashboard_url']],
  ['ARGUS_OPENAI_BASE_URL', ['serving', 'openai_base_url']],
  ['ARGUS_INGRESS_URL', ['serving', 'ingress_url']],
  ['ARGUS_STORAGE_ROOT', ['serving', 'storage_root']],
  ['ARGUS_READINESS_TIMEOUT_S', ['serving', 'readiness_timeout_s']],
  ['ARGUS_SURGE_WAIT_S', ['serving', 'surge_wait_s']],
  ['ARGUS_ACCELERATOR_TYPE', ['serving', 'llm', 'accelerator_type']],
  ['ARGUS_ACCELERATOR_TYPES', ['serving', 'llm', 'accelerator_types']],
  ['ARGUS_ENGINE', ['serving', 'llm', 'engine']],
  ['ARGUS_DEFAULT_MAX_GPUS', ['serving', 'quotas', 'default_max_gpus']],
  ['ARGUS_DEFAULT_MAX_MODELS', ['serving', 'quotas', 'default_max_models']],
  ['ARGUS_AUTOSCALE_UPSCALE_DELAY_S', ['serving', 'autoscaling', 'upscale_delay_s']],
  ['ARGUS_AUTOSCALE_DOWNSCALE_DELAY_S', ['serving', 'autoscaling', 'downscale_delay_s']],
  ['ARGUS_AUTOSCALE_METRICS_INTERVAL_S', ['serving', 'autoscaling', 'metrics_interval_s']],
  ['ARGUS_AUTOSCALE_LOOK_BACK_PERIOD_S', ['serving', 'autoscaling', 'look_back_period_s']],
  ['ARGUS_ENGINE_PROBES', ['serving', 'engine_probes', 'engine']],
  ['ARGUS_ENGINE_PROBE_URL', ['serving', 'engine_probes', 'base_url']],
  ['ARGUS_RECONCILE_INTERVAL_S', ['serving', 'reconcile', 'interval_s']],
  ['ARGUS_REPLICA_GRACE_S', ['serving', 'reconcile', 'replica_grace_s']],
  ['ARGUS_RAY_RECOVERY_WAIT_S', ['serving', 'reconcile', 'ray_recovery_wait_s']],
  ['ARGUS_RECONCILE_REMIND_AFTER_S', ['serving', 'reconcile', 'remind_after_s']],
];

export class ConfigError extends Error {}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/**
 * Loads the YAML file (ARGUS_CONFIG or config/dev.yaml), applies environment overrides and
 * validates the result. An empty override of a nullable key sets it to null.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const file = env.ARGUS_CONFIG ?? path.join(REPO_ROOT, 'config', 'dev.yaml');
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(`configuration file ${file} is not a YAML mapping`);
  const merged = raw as Record<string, unknown>;
  for (const [name, keys] of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined) setPath(merged, keys, value === '' ? null : value);
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration (${file} plus environment overrides):\n${problems.join('\n')}`);
  }
  const config = parsed.data;
  config.serving.storage_root = path.resolve(REPO_ROOT, config.serving.storage_root);
  return config;
}
