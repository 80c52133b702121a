import { Counter, Histogram, Registry } from 'prom-client';

/** Calls to the Ray dashboard, in whichever process makes them (the API's status reads, the worker's PUTs and watches). */
export const rayRegistry = new Registry();

const dashboardSeconds = new Histogram({
  name: 'argus_ray_dashboard_request_duration_seconds',
  help: 'Ray dashboard calls by operation, in seconds',
  labelNames: ['operation'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [rayRegistry],
});
const dashboardErrors = new Counter({
  name: 'argus_ray_dashboard_errors_total',
  help: 'Ray dashboard calls that failed, by operation and kind (unreachable, 4xx, 5xx)',
  labelNames: ['operation', 'kind'] as const,
  registers: [rayRegistry],
});

/** One call: `operation` like "GET /api/serve/applications/" (no query, no ids). */
export function observeDashboardCall(operation: string, seconds: number, failure: { status: number | undefined } | null): void {
  dashboardSeconds.observe({ operation }, seconds);
  if (failure) dashboardErrors.inc({ operation, kind: failure.status === undefined ? 'unreachable' : `${Math.floor(failure.status / 100)}xx` });
}
