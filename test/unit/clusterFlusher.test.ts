import { ClusterFlusher, FlusherSettings } from '../../src/activities/clusterFlusher';
import type { FlushOutcome } from '../../src/activities/clusterWriter';

/** A flush the test finishes by hand, recording which applies had joined when it started. */
function controlledFlush() {
  const started: Array<{ finish: (outcome: FlushOutcome | Error) => void }> = [];
  const flush = () =>
    new Promise<FlushOutcome>((resolve, reject) => {
      started.push({ finish: (o) => (o instanceof Error ? reject(o) : resolve(o)) });
    });
  return { started, flush };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
/** Waits for a condition that timers make true; the limit only keeps a broken flusher from hanging the suite. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}
const ok: FlushOutcome = { puts: 1, rejected: [] };

function flusher(overrides: Partial<FlusherSettings> & Pick<FlusherSettings, 'flush'>): ClusterFlusher {
  return new ClusterFlusher({ maxGatherMs: 60_000, gatherPollMs: 1, changesOnTheirWay: async () => 0, ...overrides });
}

describe('the in-process group commit of cluster writes', () => {
  it('flushes a lone apply without gathering when nothing is on its way', async () => {
    const { started, flush } = controlledFlush();
    const probes: string[][] = [];
    const f = flusher({ flush, changesOnTheirWay: async (waiting) => (probes.push(waiting), 0) });
    const done = f.flushIncluding('a');
    await settle();
    expect(probes).toEqual([['a']]);
    expect(started).toHaveLength(1);
    started[0]!.finish(ok);
    await expect(done).resolves.toEqual(ok);
  });

  it('gathers while changes are on their way and shares one flush among every apply that joined', async () => {
    const { started, flush } = controlledFlush();
    let onTheirWay = 2;
    const f = flusher({ flush, changesOnTheirWay: async () => onTheirWay });
    const a = f.flushIncluding('a');
    await settle();
    expect(started).toHaveLength(0); // still gathering
    const b = f.flushIncluding('b');
    onTheirWay = 1;
    await settle();
    expect(started).toHaveLength(0);
    const c = f.flushIncluding('c');
    onTheirWay = 0;
    await until(() => started.length > 0);
    expect(started).toHaveLength(1);
    started[0]!.finish(ok);
    await expect(Promise.all([a, b, c])).resolves.toEqual([ok, ok, ok]);
  });

  it('stops gathering at the bound even if a change never arrives', async () => {
    const { started, flush } = controlledFlush();
    const f = flusher({ flush, maxGatherMs: 30, gatherPollMs: 5, changesOnTheirWay: async () => 1 });
    const done = f.flushIncluding('a');
    await until(() => started.length > 0);
    expect(started).toHaveLength(1);
    started[0]!.finish(ok);
    await expect(done).resolves.toEqual(ok);
  });

  it('sends applies arriving during a flush to the next round, which starts only after it', async () => {
    const { started, flush } = controlledFlush();
    const f = flusher({ flush });
    const first = f.flushIncluding('a');
    await settle();
    expect(started).toHaveLength(1);
    const second = f.flushIncluding('b'); // its entry may have been written after the running flush read
    const third = f.flushIncluding('c');
    await settle();
    expect(started).toHaveLength(1); // one flush at a time in this process
    started[0]!.finish(ok);
    await expect(first).resolves.toEqual(ok);
    await settle();
    expect(started).toHaveLength(2);
    started[1]!.finish({ puts: 1, rejected: ['c'] });
    await expect(Promise.all([second, third])).resolves.toEqual([
      { puts: 1, rejected: ['c'] },
      { puts: 1, rejected: ['c'] },
    ]);
  });

  it('fails every apply of a failed flush, and the next round still runs', async () => {
    const { started, flush } = controlledFlush();
    const f = flusher({ flush });
    const a = f.flushIncluding('a');
    const b = f.flushIncluding('b');
    await settle();
    started[0]!.finish(new Error('Ray answered 503'));
    await expect(a).rejects.toThrow('503');
    await expect(b).rejects.toThrow('503');
    const retry = f.flushIncluding('a');
    await settle();
    expect(started).toHaveLength(2);
    started[1]!.finish(ok);
    await expect(retry).resolves.toEqual(ok);
  });

  it('fails the round when the gather cannot ask the database', async () => {
    const { started, flush } = controlledFlush();
    const f = flusher({ flush, changesOnTheirWay: async () => Promise.reject(new Error('connection refused')) });
    await expect(f.flushIncluding('a')).rejects.toThrow('connection refused');
    expect(started).toHaveLength(0);
  });
});
