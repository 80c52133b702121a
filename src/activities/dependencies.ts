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
  /**
   * Longest a cluster write waits for changes on their way to join its PUT (default 1 s); it
   * waits only while there are some.
   */
  applyGatherMs?: number;
  /**
   * How many changes are on their way to the cluster besides the applies already waiting
   * (default: models accepted whose apply has not written their entry yet); tests narrow it to their models.
   */
  changesOnTheirWay?: (waiting: string[]) => Promise<number>;
}
