import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY = { api: path.join(ROOT, 'dist/api/main.js'), worker: path.join(ROOT, 'dist/worker/main.js') };
/** The log line each process writes once it serves. */
const READY = { api: '"API listening"', worker: '"worker running"' };

const newestChange = (dir: string): number =>
  Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestChange(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));

/** Compiles src again when it changed after the last build, so the process runs the code under test. */
function ensureBuilt(entry: string): void {
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestChange(path.join(ROOT, 'src'))) return;
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`building dist failed:\n${tsc.stdout}${tsc.stderr}`);
}

/**
 * The API or the worker as production runs it: its own OS process (the compiled `dist/.../main.js`,
 * built from src by scripts/install.sh, or here if src is newer), configured only through the
 * environment, so a test can kill it with SIGKILL at any point, read every line it logs and
 * measure its memory.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private output = '';

  constructor(
    readonly name: 'api' | 'worker',
    private readonly env: Record<string, string>,
  ) {
    ensureBuilt(ENTRY[name]);
  }

  /** Starts the process and resolves once it serves. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) throw new Error(`the ${this.name} process is already running`);
    this.output = '';
    const child = spawn(process.execPath, [ENTRY[this.name]], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes(READY[this.name])) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before it started:\n${this.tail()}`));
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

  /** The fields of the line that announced readiness (the API's names its port). */
  readyFields(): Record<string, unknown> {
    const line = this.lines.find((l) => l.includes(READY[this.name]));
    if (!line) throw new Error(`the ${this.name} process has not announced readiness`);
    return JSON.parse(line) as Record<string, unknown>;
  }

  /** Every line written to stdout and stderr since the last start. */
  get lines(): string[] {
    return this.output.split('\n').filter(Boolean);
  }

  /** The last lines the process wrote, for failure messages. */
  tail(lines = 30): string {
    return this.lines.slice(-lines).join('\n');
  }

  /** Resident memory in MiB (the second field of /proc/<pid>/statm is resident pages). */
  rssMiB(): number {
    if (!this.child?.pid) throw new Error(`the ${this.name} process is not running`);
    return (Number(readFileSync(`/proc/${this.child.pid}/statm`, 'utf8').split(' ')[1]) * 4096) / 2 ** 20;
  }
}
