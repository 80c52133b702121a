import type { FlushOutcome } from './clusterWriter';

/** Settings and probes a flusher needs; the activity dependencies provide them. */
export interface FlusherSettings {
  /** Longest a change waits for others known to be on their way before its PUT. */
  maxGatherMs: number;
  /** Pause between two looks at how many changes are still on their way. */
  gatherPollMs: number;
  /** How many changes are on their way, other than those of the models already waiting. */
  changesOnTheirWay: (waiting: string[]) => Promise<number>;
  /** One flush of every pending entry under the cluster lock. */
  flush: () => Promise<FlushOutcome>;
}

/** The applies that will share one flush: every one of them wrote its entry before that flush reads. */
interface Round {
  waiting: Set<string>;
  openedAt: number;
  done: Promise<FlushOutcome>;
}

/**
 * Group commit inside one worker process: every concurrent apply of a cluster awaits the same
 * round, and one round at a time gathers, takes the cluster lock (one pooled connection, however
 * many applies wait) and flushes. A round gathers only while the database says more changes are
 * on their way (models accepted whose apply has not started), and never longer than
 * `maxGatherMs` after its first apply joined, so a lone deploy does not wait at all and a stuck
 * model cannot hold the others. The advisory lock still serialises rounds of several workers.
 */
export class ClusterFlusher {
  private open: Round | null = null;
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly settings: FlusherSettings) {}

  /** Resolves (or fails) with the first flush that reads the cluster's entries after this call. */
  flushIncluding(modelKey: string): Promise<FlushOutcome> {
    let round = this.open;
    if (!round) {
      const fresh: Round = { waiting: new Set(), openedAt: Date.now(), done: Promise.resolve({ puts: 0, rejected: [] }) };
      // One round after another: a round opened while another flushes gathers the arrivals meanwhile.
      fresh.done = this.last.catch(() => undefined).then(() => this.run(fresh));
      this.last = fresh.done;
      this.open = round = fresh;
    }
    round.waiting.add(modelKey);
    return round.done;
  }

  private async run(round: Round): Promise<FlushOutcome> {
    try {
      await this.gather(round);
      // Applies joining from here on go to the next round; the flush reads every entry written
      // before this point, so it carries every apply that joined this round.
      if (this.open === round) this.open = null;
      return await this.settings.flush();
    } finally {
      if (this.open === round) this.open = null;
    }
  }

  private async gather(round: Round): Promise<void> {
    const deadline = round.openedAt + this.settings.maxGatherMs;
    while (Date.now() < deadline) {
      if ((await this.settings.changesOnTheirWay([...round.waiting])) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(this.settings.gatherPollMs, deadline - Date.now()))));
    }
  }
}

/** A flusher per cluster writer of this process, built on first use. */
const flushers = new WeakMap<object, ClusterFlusher>();
export function flusherFor(owner: object, build: () => FlusherSettings): ClusterFlusher {
  let flusher = flushers.get(owner);
  if (!flusher) {
    flusher = new ClusterFlusher(build());
    flushers.set(owner, flusher);
  }
  return flusher;
}
