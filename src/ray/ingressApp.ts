import { createHash } from 'node:crypto';
import type { ModelPlacement } from './modelPlacement';
import type { ServeApplication } from './serveConfig';

/** The ingress: Ray Serve LLM's own OpenAI ingress, subclassed to route by model to each model's app. */
export const INGRESS_IMPORT_PATH = 'argus_serve.builders:build_ingress_app';
export const INGRESS_DEPLOYMENT = 'ArgusIngress';
/** A request carrying this header goes to the named revision of its model (the routed one or a candidate). */
export const REVISION_APP_HEADER = 'x-argus-revision-app';

/** One model as the ingress knows it (python/argus_serve reads exactly these keys). */
export interface IngressRoute {
  model_id: string;
  app_name: string;
  deployment_name: string;
  candidates: Array<{ app_name: string; deployment_name: string }>;
  max_model_len: number | null;
}

export interface IngressUserConfig {
  /** Changes whenever the routes do: what `GET /argus/routes` reports back once a replica took them. */
  version: string;
  models: IngressRoute[];
  /** Node paths the ingress names by their logical name in its answers (the storage root is /private to users). */
  path_aliases: Record<string, string>;
}

export function ingressUserConfig(placements: ModelPlacement[], pathAliases: Record<string, string> = {}): IngressUserConfig {
  const models = placements
    .map((p): IngressRoute => {
      const routed = p.apps.find((a) => a.app_name === p.routed_app) ?? p.apps[0];
      const maxLen = routed?.llm_config.engine_kwargs.max_model_len;
      return {
        model_id: p.model_id,
        app_name: p.routed_app,
        deployment_name: routed?.deployment.name ?? '',
        candidates: p.apps.filter((a) => a.app_name !== p.routed_app).map((a) => ({ app_name: a.app_name, deployment_name: a.deployment.name })),
        max_model_len: typeof maxLen === 'number' ? maxLen : null,
      };
    })
    .sort((a, b) => (a.model_id < b.model_id ? -1 : a.model_id > b.model_id ? 1 : 0));
  const version = createHash('sha256').update(JSON.stringify([models, pathAliases])).digest('hex').slice(0, 16);
  return { version, models, path_aliases: pathAliases };
}

/**
 * The ingress application. The model set travels in its deployment's `user_config`, never in
 * `args`: a user_config change makes Ray call `reconfigure()` on the live replicas (no
 * restart), while a change of `args` restarts the ingress (how new ingress code is rolled).
 */
export function renderIngressApplication(
  appName: string,
  placements: ModelPlacement[],
  pathAliases: Record<string, string> = {},
  setupHookEnv: Record<string, string> = {},
): ServeApplication {
  return {
    name: appName,
    route_prefix: '/',
    import_path: INGRESS_IMPORT_PATH,
    args: {},
    // With the stand-in engine, the ingress keeps vLLM out too (its build and its replica), and
    // reads OpenAI requests through the protocol models the stand-in's replicas use.
    ...(Object.keys(setupHookEnv).length > 0 ? { runtime_env: { env_vars: setupHookEnv } } : {}),
    deployments: [{ name: INGRESS_DEPLOYMENT, user_config: ingressUserConfig(placements, pathAliases) }],
  };
}
