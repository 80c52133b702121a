import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The API or the worker as the operating system runs it (`node dist/...`), so a scenario can
 * read every line it logs, kill it with SIGKILL or measure its memory. dist/ is built by
 * scripts/install.sh, which `make test` and `make reliability` run first.
 */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** Every line written to stdout and stderr so far. */
  readonly lines: string[];
  /** Resident memory in MiB, read from /proc. */
  rssMiB(): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const DIST = path.join(__dirname, '..', '..', 'dist');

export function startServiceProcess(name: 'api' | 'worker', env: Record<string, string>): ServiceProcess {
  const child: ChildProcess = spawn(process.execPath, [path.join(DIST, name, 'main.js')], {
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    name,
    pid: child.pid ?? -1,
    lines,
    rssMiB() {
      // statm's second field is resident pages.
      const statm = readFileSync(`/proc/${child.pid}/statm`, 'utf8');
      return (Number(statm.split(' ')[1]) * 4096) / 2 ** 20;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Polls `url` until it answers 200. */
export async function waitUntilServing(url: string, process: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${process.name} did not serve ${url} within ${timeoutMs} ms:\n${process.lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
