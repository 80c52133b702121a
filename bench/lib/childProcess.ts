import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Child {
  process: ChildProcess;
  /** What the child printed on its `listening <port>` / `ready` line. */
  firstLine: string;
  /** Resident set size of the child, MiB, from /proc. */
  rssMb(): number;
  /** CPU time the child has used so far (user + system), seconds, from /proc. */
  cpuSeconds(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `node --import tsx <script>` (so the pid is the Node process itself, whose memory is
 * measured) and waits for its first line on stdout, which says it is ready.
 */
export async function startChild(script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = [], readyWithinMs = 300_000): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.resolve(__dirname, '..', script), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${script} not ready within ${readyWithinMs} ms: ${stderr}`)), readyWithinMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    process: child,
    firstLine,
    rssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
      return kb / 1024;
    },
    cpuSeconds() {
      // /proc/<pid>/stat: utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** The port of a child that printed `listening <port>`. */
export const portOf = (child: Child): number => Number(child.firstLine.split(' ')[1]);

/** The environment that points a child at the product configuration `overrides` describes. */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, LOG_LEVEL: 'error', ...overrides };
}
