import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const WORKER = path.join(ROOT, 'dist/worker/main.js');

const newestChange = (dir: string): number =>
  Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestChange(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));

/** Compiles src again when it changed after the last build, so the process runs the code under test. */
function ensureBuilt(): void {
  if (existsSync(WORKER) && statSync(WORKER).mtimeMs >= newestChange(path.join(ROOT, 'src'))) return;
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`building the worker failed:\n${tsc.stdout}${tsc.stderr}`);
}

/**
 * The worker as production runs it: its own OS process (the compiled `dist/worker/main.js`,
 * built from src by scripts/install.sh, or here if src is newer), configured only through the
 * environment, so a test can kill it with SIGKILL at any point and start a new one.
 */
export class WorkerProcess {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(private readonly env: Record<string, string>) {
    ensureBuilt();
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
