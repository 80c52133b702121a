import type { ModelEvent } from '../api/types';

/** What kind of moment each event is, so failures, rollbacks and drift stand out in the timeline. */
const KIND: Record<string, 'failure' | 'rollback' | 'drift' | 'ok' | 'info'> = {
  DEPLOY_FAILED: 'failure',
  FAILED: 'failure',
  COLD_START_FAILED: 'failure',
  REPAIR_FAILED: 'failure',
  ROLLBACK_STARTED: 'rollback',
  ROLLED_BACK: 'rollback',
  DRIFT_DETECTED: 'drift',
  DEGRADED: 'drift',
  REPAIR_STARTED: 'drift',
  HEALED: 'ok',
  RUNNING: 'ok',
  TRAFFIC_SWITCHED: 'ok',
  ADMITTED: 'ok',
};

/** What an event says, in the words its payload carries (the same fields `argus events` prints). */
function said(payload: Record<string, unknown>): string | null {
  const text = [payload.reason, payload.error_summary, payload.message, payload.detail].find((v) => typeof v === 'string' && v !== '');
  return (text as string | undefined) ?? null;
}

export function EventTimeline({ events }: { events: ModelEvent[] }) {
  if (events.length === 0) return <p className="note">No events yet.</p>;
  return (
    <ol className="timeline" aria-label="events">
      {[...events].reverse().map((e) => {
        const revision = typeof e.payload.revision === 'number' ? `r${e.payload.revision}` : null;
        const text = said(e.payload);
        return (
          <li key={e.seq} className={`event ${KIND[e.event_type] ?? 'info'}`} data-event-type={e.event_type}>
            <time dateTime={e.created_at}>{e.created_at.slice(0, 19).replace('T', ' ')}</time>
            <strong>{e.event_type}</strong>
            {revision && <span className="revision">{revision}</span>}
            {text && <div className="said">{text}</div>}
          </li>
        );
      })}
    </ol>
  );
}
