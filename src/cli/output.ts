import Table from 'cli-table3';

export type OutputFormat = 'table' | 'json';

/** Rows for people (a table) or the whole answer for scripts (JSON). */
export function print(format: OutputFormat, json: unknown, table: { head: string[]; rows: Array<Array<string | number | null>> }): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const t = new Table({ head: table.head, style: { head: [], border: [] } });
  for (const row of table.rows) t.push(row.map((cell) => (cell === null ? '-' : String(cell))));
  process.stdout.write(`${t.toString()}\n`);
}

/** One event as a line: time, type and what it says. */
export function eventLine(event: { seq: number; event_type: string; created_at: string; payload: Record<string, unknown> }): string {
  const p = event.payload;
  const said = [p.reason, p.error_summary, p.message].find((v) => typeof v === 'string' && v !== '') as string | undefined;
  const revision = typeof p.revision === 'number' ? ` r${p.revision}` : '';
  return `${event.created_at.slice(11, 19)}  ${event.event_type}${revision}${said ? `  ${said}` : ''}`;
}
