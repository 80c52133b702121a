/** A model's state, coloured by what it means for the person who owns it. */
const TONE: Record<string, string> = {
  RUNNING: 'ok',
  DEGRADED: 'warn',
  FAILED: 'bad',
  QUEUED: 'busy',
  DEPLOYING: 'busy',
  DELETING: 'busy',
  DELETED: 'muted',
};

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${TONE[state] ?? 'busy'}`} data-testid="state">{state}</span>;
}
