import type { ModelDetailBody } from '../../src/api/contract/responseSchemas';

/**
 * Problems in one model's event log: gaps or repeats in the sequence, and any step recorded
 * twice for the same revision (what a retried or re-run activity would leave behind).
 */
export function eventLogProblems(detail: ModelDetailBody): string[] {
  const problems: string[] = [];
  detail.events.forEach((event, i) => {
    if (event.seq !== i + 1) problems.push(`${detail.model.model_key}: event ${i + 1} has seq ${event.seq}`);
  });
  const once = ['DEPLOY_REQUESTED', 'SCALE_REQUESTED', 'APPLY_SUCCEEDED', 'RUNNING', 'DELETE_REQUESTED', 'DELETED'];
  const seen = new Set<string>();
  for (const event of detail.events.filter((e) => once.includes(e.event_type))) {
    const id = `${event.event_type}@${String(event.payload.revision ?? '')}`;
    if (seen.has(id)) problems.push(`${detail.model.model_key}: ${id} recorded twice`);
    seen.add(id);
  }
  return problems;
}
