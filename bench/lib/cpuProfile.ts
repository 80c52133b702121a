import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { statCpuMs } from './cpuTime';
import { round } from './stats';

/** CPU seconds of this process's threads so far, summed by thread name (main thread `node`, the Temporal core's `tokio-runtime-w`, ...). */
function threadCpuByName(): Map<string, number> {
  const byName = new Map<string, number>();
  const taskDir = `/proc/${process.pid}/task`;
  for (const tid of readdirSync(taskDir)) {
    try {
      const seconds = statCpuMs(path.join(taskDir, tid, 'stat')) / 1000;
      // The main thread's id is the process id; the other `node` threads are V8's and libuv's helpers and the SDK's workflow threads.
      const name = tid === String(process.pid) ? 'main thread' : readFileSync(path.join(taskDir, tid, 'comm'), 'utf8').trim();
      byName.set(name, (byName.get(name) ?? 0) + seconds);
    } catch {
      // the thread ended while being read
    }
  }
  return byName;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Which part of this process a function belongs to, from the file it is in. */
function partOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)' || functionName === '(program)') return `V8 ${functionName}`;
  const parts: Array<[RegExp, string]> = [
    [/test\/support\/rayDouble/, 'Ray double (harness)'],
    [/\/bench\//, 'benchmark clients (harness)'],
    [/node_modules\/@temporalio\//, 'Temporal SDK (client, worker)'],
    [/\/src\/api\//, 'product: API'],
    [/\/src\/activities\//, 'product: activities'],
    [/\/src\/(db|ray|domain|config|worker|observability|metrics)\//, 'product: db, ray, domain'],
    [/node_modules\/(pg|pg-protocol|pg-pool)\//, 'PostgreSQL client'],
    [/node_modules\/(pino|pino-http|thread-stream|sonic-boom)/, 'logging'],
    [/node_modules\/(express|router|body-parser|raw-body|send|finalhandler|path-to-regexp)/, 'Express'],
    [/node_modules\/undici\//, 'HTTP client (undici)'],
    [/node_modules\/(zod|yaml)\//, 'validation (zod, yaml)'],
    [/node_modules\/(prom-client|@opentelemetry)/, 'metrics and tracing'],
    [/node_modules\//, 'other libraries'],
    [/^node:|^$/, 'Node.js internals'],
  ];
  return parts.find(([pattern]) => pattern.test(url))?.[1] ?? 'other';
}

export interface CpuProfileSummary {
  /** CPU seconds by thread name while the work ran. */
  threads_cpu_s: Record<string, number>;
  /** Share of the main thread's samples (percent) by part of the process. */
  main_thread_pct_by_part: Record<string, number>;
  /** The functions with the most samples of their own (percent of the main thread's samples). */
  top_functions: Array<{ fn: string; pct: number }>;
}

/**
 * Runs `work` under V8's sampling profiler (this process's main thread) and the per-thread CPU
 * clock, and hands `report` where the time went, whether the work succeeded or not: by thread, by
 * part of the process, and by function. The raw profile is written to `file` for Chrome DevTools.
 */
export async function profileCpu<T>(file: string, work: () => Promise<T>, report: (profile: CpuProfileSummary) => void): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  const threadsBefore = threadCpuByName();
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    report(summarize(profile.nodes, threadsBefore));
  }
}

function summarize(nodes: ProfileNode[], threadsBefore: Map<string, number>): CpuProfileSummary {
  const threadsCpu: Record<string, number> = {};
  for (const [name, seconds] of threadCpuByName()) {
    const used = seconds - (threadsBefore.get(name) ?? 0);
    if (used >= 0.05) threadsCpu[name] = round(used, 1);
  }
  const total = nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0) || 1;
  const byPart = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const part = partOf(url, functionName);
    byPart.set(part, (byPart.get(part) ?? 0) + hits);
    const where = url ? `${url.replace(/^.*?\/(node_modules|src|bench|test)\//, '$1/')}:${lineNumber + 1}` : '';
    const fn = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  }
  const pct = (hits: number) => round((hits * 100) / total, 1);
  return {
    threads_cpu_s: threadsCpu,
    main_thread_pct_by_part: Object.fromEntries([...byPart].sort((a, b) => b[1] - a[1]).map(([part, hits]) => [part, pct(hits)])),
    top_functions: [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([fn, hits]) => ({ fn, pct: pct(hits) })),
  };
}
