import { z } from 'zod';
import type { ServeApplication } from './serveConfig';

/**
 * Shapes of `GET /api/serve/applications/` as recorded from Ray 2.58; unknown keys pass
 * through so newer Ray versions do not break parsing.
 */
export const APP_STATUSES = ['NOT_STARTED', 'DEPLOYING', 'DEPLOY_FAILED', 'RUNNING', 'UNHEALTHY', 'DELETING'] as const;
export const DEPLOYMENT_STATUSES = ['UPDATING', 'HEALTHY', 'UNHEALTHY', 'DEPLOY_FAILED', 'UPSCALING', 'DOWNSCALING'] as const;

const replicaSchema = z.looseObject({ replica_id: z.string(), state: z.string() });

const deploymentSchema = z.looseObject({
  name: z.string(),
  status: z.string(),
  status_trigger: z.string().optional(),
  message: z.string().default(''),
  target_num_replicas: z.number().optional(),
  replicas: z.array(replicaSchema).default([]),
  /** Replicas that stopped lately; their logs hold what a dead engine said (Ray 2.58 keeps a few). */
  recent_dead_replicas: z.array(z.looseObject({ actor_id: z.string(), start_time_s: z.number().optional() })).optional(),
  deployment_config: z.record(z.string(), z.unknown()).optional(),
});

const applicationSchema = z.looseObject({
  name: z.string(),
  status: z.string(),
  message: z.string().default(''),
  deployed_app_config: z.looseObject({ name: z.string(), import_path: z.string() }).nullable().optional(),
  deployments: z.record(z.string(), deploymentSchema).default({}),
});

export const serveDetailsSchema = z.looseObject({
  applications: z.record(z.string(), applicationSchema).default({}),
});

export type ServeDetails = z.infer<typeof serveDetailsSchema>;

/** Just enough of the whole status to find the apps in it, without walking their contents. */
const appIndexSchema = z.looseObject({ applications: z.record(z.string(), z.unknown()).default({}) });
/** An app's own fields, its deployments left unread. */
const appHeaderSchema = applicationSchema.omit({ deployments: true }).extend({ deployments: z.record(z.string(), z.unknown()).default({}) });

/**
 * The status as `serveDetailsSchema` would parse it, but holding only `deploymentName` of
 * `appName`: the other apps and deployments are not validated (with thousands of models the
 * whole status is megabytes, and a readiness check needs one deployment).
 */
export function singleDeploymentView(raw: unknown, appName: string, deploymentName: string): ServeDetails {
  const index = appIndexSchema.parse(raw);
  const rawApp = index.applications[appName];
  if (rawApp === undefined) return { applications: {} };
  const header = appHeaderSchema.parse(rawApp);
  const rawDeployment = header.deployments[deploymentName];
  const deployments = rawDeployment === undefined ? {} : { [deploymentName]: deploymentSchema.parse(rawDeployment) };
  return { applications: { [appName]: { ...header, deployments } } };
}

export function applicationNamesIn(raw: unknown): string[] {
  return Object.keys(appIndexSchema.parse(raw).applications);
}

const foreignAppSchema = applicationSchema.pick({ name: true, deployed_app_config: true });

/** Apps this product does not manage that Ray reports deployed, each config exactly as Ray reports it. */
export function foreignApplicationsIn(raw: unknown, isManaged: (appName: string) => boolean): ServeApplication[] {
  const index = appIndexSchema.parse(raw);
  return Object.entries(index.applications)
    .filter(([name]) => !isManaged(name))
    .map(([, app]) => foreignAppSchema.parse(app))
    .filter((app) => app.deployed_app_config)
    .map((app) => app.deployed_app_config as unknown as ServeApplication);
}
export type ServeApplicationStatus = z.infer<typeof applicationSchema>;

/** How one model stands on the cluster, from the controller's point of view. */
export type ModelAssessment =
  | { phase: 'absent'; message: string }
  | { phase: 'progressing'; readyReplicas: number; targetReplicas: number; message: string; unscheduled?: boolean }
  | { phase: 'healthy'; readyReplicas: number; targetReplicas: number }
  | { phase: 'failed'; message: string };

export const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

/**
 * The line a person can act on: the last `SomethingError: ...` of a traceback (the root cause),
 * else the first non-empty line.
 */
export function summarizeRayMessage(message: string): string {
  const lines = stripAnsi(message)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errorLines = lines.filter((l) => /^[\w.]*(Error|Exception)\b[^:]*: /.test(l) && !/^RuntimeError: Traceback/.test(l));
  const chosen = errorLines[errorLines.length - 1] ?? lines[0] ?? 'no message from Ray';
  return chosen.length > 300 ? `${chosen.slice(0, 297)}...` : chosen;
}

/** The ARGUS_MODEL_REVISION a deployment runs with, as Ray reports it in its actor options. */
function runningMarker(deployment: z.infer<typeof deploymentSchema>): string | undefined {
  const options = (deployment.deployment_config as { ray_actor_options?: { runtime_env?: { env_vars?: Record<string, string> } } } | undefined)
    ?.ray_actor_options;
  return options?.runtime_env?.env_vars?.ARGUS_MODEL_REVISION;
}

/**
 * Where a model stands. `expectedMarker` guards against reading the previous revision's
 * HEALTHY status in the moment before Ray's controller picks up a new config.
 */
export function assessModel(
  details: ServeDetails,
  appName: string,
  deploymentName: string,
  targetReplicas: number,
  expectedMarker?: string,
  /** An autoscaled deployment: `targetReplicas` is its floor, and Ray's own target may be anything above. */
  autoscaled = false,
): ModelAssessment {
  const app = details.applications[appName];
  if (!app) return { phase: 'absent', message: `application ${appName} is not on the cluster` };
  const deployment = app.deployments[deploymentName];
  if (!deployment) {
    if (app.status === 'DEPLOY_FAILED') return { phase: 'failed', message: app.message };
    return { phase: 'absent', message: app.message || `deployment ${deploymentName} not created yet (app ${app.status})` };
  }
  const marker = runningMarker(deployment);
  if (expectedMarker !== undefined && marker !== undefined && marker !== expectedMarker) {
    return { phase: 'progressing', readyReplicas: 0, targetReplicas, message: 'waiting for Ray to pick up the new configuration' };
  }
  if (deployment.status === 'DEPLOY_FAILED') return { phase: 'failed', message: deployment.message || app.message };
  const readyReplicas = deployment.replicas.filter((r) => r.state === 'RUNNING').length;
  const targetAsAsked = autoscaled || (deployment.target_num_replicas ?? targetReplicas) === targetReplicas;
  if (deployment.status === 'HEALTHY' && readyReplicas >= targetReplicas && targetAsAsked) {
    return { phase: 'healthy', readyReplicas, targetReplicas };
  }
  const states = deployment.replicas.map((r) => r.state).join(', ');
  const unscheduled = describeUnscheduledReplicas(deployment.message);
  const message =
    unscheduled ??
    (stripAnsi(deployment.message).split('\n')[0] ||
    `deployment ${deployment.status}${states ? ` (replicas: ${states})` : ''}`);
  return { phase: 'progressing', readyReplicas, targetReplicas, message, unscheduled: unscheduled !== undefined };
}

/**
 * Ray's pending-replica message ("has 1 replicas that have taken more than 30s to be scheduled
 * ... Resources required for each replica: [bundles], ...") in
 * the words a user needs: how many GPUs the rollout waits for. Undefined for any other message.
 */
export function describeUnscheduledReplicas(rayMessage: string): string | undefined {
  const text = stripAnsi(rayMessage);
  const pending = /has (\d+) replicas? that ha(?:ve|s) taken more than \d+s to be scheduled/.exec(text);
  const required = /Resources required for each replica: (\[.*?\]|\{.*?\}), total resources available/s.exec(text);
  if (!pending || !required) return undefined;
  const replicas = Number(pending[1]);
  let perReplica: Record<string, number>[];
  try {
    const parsed = JSON.parse(required[1] as string) as Record<string, number> | Record<string, number>[];
    perReplica = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return undefined;
  }
  const gpusPerReplica = perReplica.reduce((sum, bundle) => sum + (Number(bundle.GPU) || 0), 0);
  const cpusPerReplica = perReplica.reduce((sum, bundle) => sum + (Number(bundle.CPU) || 0), 0);
  const replicaWords = `${replicas} replica${replicas === 1 ? '' : 's'}`;
  if (gpusPerReplica > 0) {
    const total = round(gpusPerReplica * replicas);
    // Ray's "total resources available" is left out: on 2.58 it read {} even with GPUs free.
    return `waiting for ${total} GPU${total === 1 ? '' : 's'}: ${replicaWords} of ${round(gpusPerReplica)} GPU${gpusPerReplica === 1 ? '' : 's'} each not scheduled yet`;
  }
  return `waiting for cluster resources: ${replicaWords} needing ${round(cpusPerReplica)} CPU each not scheduled yet`;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
