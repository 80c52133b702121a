import { ServeDeployBody } from './serveConfig';
import { ServeDetails, serveDetailsSchema } from './serveStatus';

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

async function call(url: string, init: RequestInit, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new RayRequestError(`Ray dashboard unreachable at ${new URL(url).origin}: ${cause}`, undefined, '');
  }
  const body = await response.text();
  if (!response.ok) {
    throw new RayRequestError(`Ray answered ${response.status} to ${init.method ?? 'GET'} ${new URL(url).pathname}: ${body.slice(0, 2000)}`, response.status, body);
  }
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

  async putServeApplications(config: ServeDeployBody): Promise<void> {
    await call(
      `${this.baseUrl}/api/serve/applications/`,
      { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) },
      this.timeoutMs,
    );
  }
}
