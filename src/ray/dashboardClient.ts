import { request } from 'undici';
import { observeDashboardCall } from '../observability/metrics/rayMetrics';
import { aliveNodesIn, type ClusterNode } from './clusterNodes';
import type { ServeApplication, ServeDeployBody } from './serveConfig';
import { applicationNamesIn, foreignApplicationsIn, ServeDetails, serveDetailsSchema, singleDeploymentView } from './serveStatus';

/** A Ray HTTP call that failed; `status` is absent when Ray could not be reached at all. */
export class RayRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly body: string,
  ) {
    super(message);
    this.name = 'RayRequestError';
  }

  /** Ray said no to the request itself (e.g. 400 on an invalid config): retrying cannot help. */
  get isRejection(): boolean {
    return this.status !== undefined && this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}

/**
 * One HTTP call to the dashboard. undici's plain `request` rather than `fetch`: the dashboard
 * refuses PUTs that carry browser headers (`Sec-Fetch-Mode`), which `fetch` always adds.
 */
async function call(url: string, init: { method: 'GET' | 'PUT'; body?: string }, timeoutMs: number): Promise<string> {
  const started = performance.now();
  const operation = `${init.method} ${new URL(url).pathname}`;
  const done = (failure: { status: number | undefined } | null) => observeDashboardCall(operation, (performance.now() - started) / 1000, failure);
  let response;
  try {
    response = await request(url, {
      method: init.method,
      headers: init.body ? { 'content-type': 'application/json' } : {},
      body: init.body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (err) {
    done({ status: undefined });
    const cause = (err as { code?: string }).code ?? (err as Error).message;
    throw new RayRequestError(`Ray dashboard unreachable at ${new URL(url).origin}: ${cause}`, undefined, '');
  }
  const body = await response.body.text();
  if (response.statusCode >= 400) {
    done({ status: response.statusCode });
    throw new RayRequestError(`Ray answered ${response.statusCode} to ${init.method} ${new URL(url).pathname}: ${body.slice(0, 2000)}`, response.statusCode, body);
  }
  done(null);
  return body;
}

/** The Serve REST API of the Ray dashboard (`/api/serve/applications/`). */
export class RayDashboardClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async getServeDetails(): Promise<ServeDetails> {
    const body = await call(`${this.baseUrl}/api/serve/applications/`, { method: 'GET' }, this.timeoutMs);
    return serveDetailsSchema.parse(JSON.parse(body));
  }

  /**
   * The apps this product does not manage, as Ray reports them deployed. Only those apps are
   * validated: the managed apps' status (megabytes with thousands of models) is not walked.
   */
  async getForeignApplications(isManaged: (appName: string) => boolean): Promise<ServeApplication[]> {
    return foreignApplicationsIn(await this.getServeStatusJson(), isManaged);
  }

  /**
   * The Serve status narrowed to one deployment of one app (the app's own status and message
   * kept): what a readiness check reads, validated like the whole status, at the cost of one
   * deployment rather than every model's.
   */
  async getDeploymentDetails(appName: string, deploymentName: string): Promise<ServeDetails> {
    return singleDeploymentView(await this.getServeStatusJson(), appName, deploymentName);
  }

  /** The names of every app Ray reports, their contents left unread. */
  async getApplicationNames(): Promise<string[]> {
    return applicationNamesIn(await this.getServeStatusJson());
  }

  /** From one status read: every app's name, and one deployment of one app (as getDeploymentDetails). */
  async getApplicationNamesAndDeployment(appName: string, deploymentName: string): Promise<{ names: string[]; details: ServeDetails }> {
    const raw = await this.getServeStatusJson();
    return { names: applicationNamesIn(raw), details: singleDeploymentView(raw, appName, deploymentName) };
  }

  /** The whole status as Ray sends it, unvalidated: the reconciler walks only what it compares. */
  async getServeStatusJson(): Promise<unknown> {
    return JSON.parse(await call(`${this.baseUrl}/api/serve/applications/`, { method: 'GET' }, this.timeoutMs));
  }

  /** The cluster's alive nodes and their GPUs (Ray's state API). */
  async getNodes(): Promise<ClusterNode[]> {
    return aliveNodesIn(JSON.parse(await call(`${this.baseUrl}/api/v0/nodes?limit=10000`, { method: 'GET' }, this.timeoutMs)));
  }

  /** The last `lines` lines of an actor's stdout (a dead one's too, while its node keeps the file). */
  async getActorStdout(actorId: string, lines = 4000): Promise<string> {
    const query = new URLSearchParams({ actor_id: actorId, suffix: 'out', lines: String(lines) });
    return call(`${this.baseUrl}/api/v0/logs/file?${query}`, { method: 'GET' }, this.timeoutMs);
  }

  async putServeApplications(config: ServeDeployBody): Promise<void> {
    await call(
      `${this.baseUrl}/api/serve/applications/`,
      { method: 'PUT', body: JSON.stringify(config) },
      this.timeoutMs,
    );
  }
}
