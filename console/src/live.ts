/** How often the pages re-read what they show, so states and replicas move without a reload. */
export const LIVE_REFRESH_MS = 2_000;

/** "12 s ago", "3 min ago": how fresh a timestamp is, for people. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return iso.slice(0, 10);
}

/** "1/2", or "-/2" while the reconciler has not judged the running replicas yet. */
export function replicaText(replicas: { running: number | null; target: number }): string {
  return `${replicas.running ?? '-'}/${replicas.target}`;
}
