import { recordEvent } from '../db/models';
import { countModelEvent } from '../observability/metrics/workerMetrics';
import type { ModelEvent } from '../workflows/modelEntity';
import type { ActivityDependencies } from './dependencies';

/** Writes one lifecycle event and the model row it implies; idempotent under retries. */
export function recordModelEventActivity(deps: ActivityDependencies) {
  return async function recordModelEvent(event: ModelEvent): Promise<void> {
    // Counted once, when first recorded: a retried write is not counted again.
    if (await recordEvent(deps.pool, event, event.projection)) countModelEvent(event);
  };
}
