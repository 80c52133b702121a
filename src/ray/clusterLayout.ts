import { LOGICAL_ROOT } from '../domain/modelSourcePath';
import { renderIngressApplication } from './ingressApp';
import { ModelPlacement, modelAppPrefix, renderModelApplication } from './modelPlacement';
import { RenderSettings, ServeApplication, ServeDeployBody, setupHookEnv } from './serveConfig';
import { isSingleAppEntry, ModelConfig, renderManagedApplication } from './singleAppLayout';

/** A model's entry in the cluster's desired set: its placement, or an entry left by the single-app layout. */
export type ClusterEntryConfig = ModelPlacement | ModelConfig;

export const isPlacement = (config: ClusterEntryConfig): config is ModelPlacement => !isSingleAppEntry(config);

/** Whether Ray's app of this name is one this product manages (the ingress, or a model's app). */
export function isManagedApp(name: string, settings: Pick<RenderSettings, 'appName'>): boolean {
  return name === settings.appName || name.startsWith(modelAppPrefix(settings));
}

/**
 * The complete PUT body. PUT replaces every app on the cluster, so it carries every model's apps,
 * the ingress, and the apps this product does not manage exactly as Ray reports them deployed.
 * Until the last model of the single-app layout has its own app, the old app keeps serving under
 * the ingress's name (both take route "/", so only one of them can be there).
 */
export function renderClusterBody(
  configs: ClusterEntryConfig[],
  foreignApps: ServeApplication[],
  settings: Pick<RenderSettings, 'appName'> & Partial<Pick<RenderSettings, 'storageRoot' | 'engine'>>,
): ServeDeployBody {
  const placements = configs.filter(isPlacement);
  const singleApp = [...configs.filter(isSingleAppEntry), ...placements.flatMap((p) => (p.migrating_from ? [p.migrating_from] : []))];
  const modelApps = placements.flatMap((p) => p.apps.map((app) => renderModelApplication(app, settings.engine ?? null)));
  // Users know the storage root as /private; Ray's messages, which the ingress passes on, name the node's path.
  const pathAliases = settings.storageRoot ? { [settings.storageRoot]: LOGICAL_ROOT } : {};
  const front = singleApp.length > 0 ? renderManagedApplication(settings.appName, singleApp) : renderIngressApplication(settings.appName, placements, pathAliases, settings.engine ? setupHookEnv(settings.engine) : {});
  return { applications: [...foreignApps, ...modelApps, front] };
}
