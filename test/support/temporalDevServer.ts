import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/workflows/searchAttributes';

const TEMPORAL = path.resolve(__dirname, '../../.venv/bin/temporal');
const DYNAMIC_CONFIG_FLAGS = path.resolve(__dirname, '../../scripts/temporal-dynamic-config-flags.js');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A Temporal dev server of a test's own (the real binary, in-memory state, no UI), for tests that
 * need server settings the shared one does not have, such as a tiny history size at which the
 * server suggests continue-as-new.
 */
export class TemporalDevServer {
  private child: ChildProcess | null = null;
  private output = '';
  address = '';

  constructor(private readonly dynamicConfig: Record<string, string | number> = {}) {}

  /**
   * The CLI takes only an explicit port, so a free one is probed first; another process can bind
   * it before the server does, so a start that finds its port taken tries again on a new one.
   */
  async start(timeoutMs = 60_000, attempts = 3): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce(timeoutMs);
      } catch (err) {
        if (attempt >= attempts || !/address already in use/i.test(this.output)) throw err;
      }
    }
  }

  private async startOnce(timeoutMs: number): Promise<void> {
    const port = await freePort();
    this.address = `127.0.0.1:${port}`;
    this.output = '';
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless', '--namespace', 'default', '--log-level', 'error'];
    for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
    // The settings every server of this product runs with, then the test's own.
    args.push(...execFileSync(process.execPath, [DYNAMIC_CONFIG_FLAGS], { encoding: 'utf8' }).split('\n').filter(Boolean));
    for (const [key, value] of Object.entries(this.dynamicConfig)) args.push('--dynamic-config-value', `${key}=${value}`);
    const child = spawn(TEMPORAL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`temporal dev server exited: ${this.output}`);
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
        // The server answers before the search attributes are registered; wait for those too.
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        await connection.close();
        if (SEARCH_ATTRIBUTE_NAMES.every((name) => customAttributes?.[name] !== undefined)) return;
      } catch {
        // not up yet
      }
      if (Date.now() > until) throw new Error(`temporal dev server did not come up within ${timeoutMs} ms: ${this.output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
