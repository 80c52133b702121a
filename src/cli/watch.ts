import type { ApiClient } from './apiClient';
import { eventLine } from './output';

const POLL_MS = 1_000;

export interface SeenEvent {
  type: string;
  revision: number | null;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Prints the model's new events as they come, until `done` says the model reached what was
 * waited for; returns the model's last detail.
 */
export async function followEvents(
  client: ApiClient,
  modelKey: string,
  afterSeq: number,
  done: (state: string, events: SeenEvent[]) => boolean,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
) {
  let seen = afterSeq;
  const events: SeenEvent[] = [];
  for (;;) {
    const detail = await client.get(modelKey);
    for (const event of detail.events.filter((e) => e.seq > seen)) {
      write(eventLine(event));
      events.push({ type: event.event_type, revision: typeof event.payload.revision === 'number' ? event.payload.revision : null });
      seen = event.seq;
    }
    if (done(detail.model.state, events)) return detail;
    await sleep(POLL_MS);
  }
}
