import type { RayDashboardClient } from '../ray/dashboardClient';
import type { ServeDetails } from '../ray/serveStatus';

/**
 * Ray's Serve status, fetched at most once per `ttlMs` however many GETs ask for it, so model
 * details stay fast and a slow dashboard cannot pile up requests.
 */
export class ServeStatusCache {
  private cached: { at: number; value: Promise<ServeDetails | Error> } | null = null;

  constructor(
    private readonly dashboard: RayDashboardClient,
    private readonly ttlMs = 2_000,
  ) {}

  get(): Promise<ServeDetails | Error> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > this.ttlMs) {
      this.cached = { at: now, value: this.dashboard.getServeDetails().catch((err: Error) => err) };
    }
    return this.cached.value;
  }
}
