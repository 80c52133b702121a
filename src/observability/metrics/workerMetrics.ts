import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ModelEvent } from '../../workflows/modelEntity';
import { rayRegistry } from './rayMetrics';

/**
 * The worker's metrics. Most come from the model events it records (every rollout, rollback,
 * drift and admission is one), so they count what users see in a model's history; the line's
 * length is read from Postgres when Prometheus scrapes.
 */
const registry = new Registry();

const events = new Counter({ name: 'argus_model_events_total', help: 'Model events recorded, by type', labelNames: ['event_type'] as const, registers: [registry] });
const rollouts = new Counter({
  name: 'argus_rollouts_total',
  help: 'Rollouts that ended, by kind (deploy, scale) and outcome (succeeded, failed, superseded)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});
const rolloutSeconds = new Histogram({
  name: 'argus_rollout_duration_seconds',
  help: 'Rollouts from their start (once admitted) to RUNNING or failure, by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
  registers: [registry],
});
const rollbacks = new Counter({ name: 'argus_rollbacks_total', help: 'Failed changes rolled back to the last good revision', registers: [registry] });
const drifts = new Counter({ name: 'argus_drifts_detected_total', help: 'Drifts seen after RUNNING, by kind (missing, degraded, cold_start_failed)', labelNames: ['kind'] as const, registers: [registry] });
const healed = new Counter({ name: 'argus_drifts_healed_total', help: 'Models serving as asked again after a drift, by who healed them (ray, repair)', labelNames: ['by'] as const, registers: [registry] });
const admissionWait = new Histogram({
  name: 'argus_admission_wait_seconds',
  help: 'Time models waited in line for GPUs before they were admitted (those that waited)',
  buckets: [1, 5, 10, 30, 60, 300, 900, 3600, 14400],
  registers: [registry],
});
const puts = new Counter({ name: 'argus_ray_puts_total', help: 'Declarative PUTs of the whole desired set to Ray', registers: [registry] });
const modelsPerPut = new Histogram({
  name: 'argus_ray_put_applications',
  help: 'Applications carried by one PUT (every model app and the ingress)',
  buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000],
  registers: [registry],
});

const numberIn = (payload: Record<string, unknown>, key: string): number | null => (typeof payload[key] === 'number' ? (payload[key] as number) : null);
const stringIn = (payload: Record<string, unknown>, key: string, fallback: string): string => (typeof payload[key] === 'string' ? (payload[key] as string) : fallback);

/** Counts one recorded event into the metrics it stands for. */
export function countModelEvent(event: Pick<ModelEvent, 'eventType' | 'payload'>): void {
  const payload = event.payload;
  events.inc({ event_type: event.eventType });
  const ended = (outcome: string) => {
    const kind = stringIn(payload, 'kind', 'deploy');
    rollouts.inc({ kind, outcome });
    const took = numberIn(payload, 'took_s');
    if (took !== null) rolloutSeconds.observe({ kind, outcome }, took);
  };
  switch (event.eventType) {
    case 'RUNNING':
      ended('succeeded');
      break;
    case 'DEPLOY_FAILED':
      if (payload.rollback !== true) ended('failed');
      break;
    case 'DEPLOY_SUPERSEDED':
      ended('superseded');
      break;
    case 'ROLLED_BACK':
      rollbacks.inc();
      break;
    case 'DRIFT_DETECTED':
      drifts.inc({ kind: stringIn(payload, 'kind', 'degraded') });
      break;
    case 'COLD_START_FAILED':
      drifts.inc({ kind: 'cold_start_failed' });
      break;
    case 'HEALED':
      healed.inc({ by: stringIn(payload, 'by', 'repair') });
      break;
    case 'ADMITTED': {
      const waited = numberIn(payload, 'waited_s');
      if (waited !== null) admissionWait.observe(waited);
      break;
    }
    default:
      break;
  }
}

/** One PUT of the desired set. */
export function countPut(applications: number): void {
  puts.inc();
  modelsPerPut.observe(applications);
}

/** The worker's registry, with the line's length read from Postgres at each scrape. */
export function workerMetricsRegistry(pool: Pool, clusterId: string): Registry {
  const line = new Registry();
  new Gauge({
    name: 'argus_admission_queue_length',
    help: 'Models waiting in line for GPUs, by accelerator type',
    labelNames: ['accelerator'] as const,
    registers: [line],
    async collect() {
      const rows = (await pool.query<{ accelerator: string; n: string }>('SELECT accelerator, count(*) AS n FROM admissions WHERE cluster_id = $1 AND waiting_since IS NOT NULL GROUP BY accelerator', [clusterId])).rows;
      this.reset();
      for (const r of rows) this.set({ accelerator: r.accelerator }, Number(r.n));
    },
  });
  return Registry.merge([registry, line, rayRegistry]);
}
