import type { Pool } from 'pg';
import type { RayDashboardClient } from '../ray/dashboardClient';
import type { IngressClient } from '../ray/ingressClient';
import type { RenderSettings } from '../ray/serveConfig';

/** What activities need from the outside world; the worker builds it once. */
export interface ActivityDependencies {
  pool: Pool;
  dashboard: RayDashboardClient;
  ingress: IngressClient;
  clusterId: string;
  render: RenderSettings;
  /** Pause between status polls; tests shorten it. */
  pollIntervalMs: number;
  /** Health endpoints of the engine itself, probed after the three standard readiness checks. */
  engineProbes?: { baseUrl: string; paths: string[] };
  /** How long a cluster write waits to gather neighbouring changes into its PUT (default 50 ms). */
  applyGatherMs?: number;
}
