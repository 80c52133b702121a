import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(ROOT, 'dist/worker/main.js');

/**
 * The worker as production runs it: its own OS process (the compiled `dist/worker/main.js`,
 * built from src by scripts/install.sh), configured only through the environment, so a test
 * can kill it with SIGKILL at any point and start a new one.
 */
export class WorkerProcess {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(private readonly env: Record<string, string>) {
    if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing; run scripts/install.sh to build it`);
  }

  /** Starts a worker and resolves once it polls its task queue. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) throw new Error('a worker process is already running');
    this.output = '';
    const child = spawn(process.execPath, [WORKER], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes('"worker running"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${code ?? signal}) before it started:\n${this.tail()}`));
      });
    });
  }

  /** Kills the process outright (no shutdown, no cleanup), as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /** Stops the process: SIGTERM lets it finish in-flight tasks; SIGKILL follows if it hangs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** The last lines the process wrote, for failure messages. */
  tail(lines = 30): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }
}
