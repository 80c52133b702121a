import { readdirSync, readFileSync } from 'node:fs';

/**
 * Jest's global teardown: names what the tests left open, and stops the processes among it.
 * Jest runs every file in this process (one worker), so a child process a test forgot (an API or
 * worker process, a Temporal dev server) or a server it did not close keeps Jest from exiting: a
 * run whose tests all passed would then hang until CI's time limit without saying why.
 * scripts/test.sh also passes --forceExit, so what is named here cannot hold the run.
 */
export default function leftoverHandles(): void {
  const open = activeHandles().filter(holdsTheProcess).map(describe).filter((d): d is string => d !== null);
  if (open.length > 0) console.warn(`still open after the tests (a test did not close them):\n  ${open.join('\n  ')}`);
  for (const child of childProcesses(process.pid)) {
    console.warn(`a test left process ${child.pid} running (${child.command}); killing it`);
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // It ended in between.
    }
  }
}

interface Handle {
  constructor: { name: string };
  _handle?: { hasRef?: () => boolean } | null;
  address?: () => unknown;
  remoteAddress?: string;
  remotePort?: number;
  server?: unknown;
}

/**
 * Node names only the kinds of its open resources (`process.getActiveResourcesInfo()`); the
 * objects behind them, needed to say which server or process it is, come from this older call.
 */
function activeHandles(): Handle[] {
  const node = process as unknown as { _getActiveHandles?: () => Handle[] };
  return node._getActiveHandles?.() ?? [];
}

/** An unreferenced handle (or one of Jest's own standard streams) does not keep Node running. */
function holdsTheProcess(handle: Handle): boolean {
  if ((handle as unknown) === process.stdout || (handle as unknown) === process.stderr || (handle as unknown) === process.stdin) return false;
  return handle._handle?.hasRef?.() ?? true;
}

function describe(handle: Handle): string | null {
  const kind = handle.constructor.name;
  if (kind === 'ChildProcess') return null; // named, with its command line, as it is killed
  if (kind === 'Server') return `server ${JSON.stringify(handle.address?.() ?? null)}`;
  if (kind === 'Socket') {
    if (handle.remoteAddress) return `connection to ${handle.remoteAddress}:${handle.remotePort}`;
    // A connection a test's server accepted, its peer already gone, or a child process's stdio.
    return handle.server ? 'a connection accepted by a server of a test' : 'pipe';
  }
  return kind;
}

/** The direct children of a process, read from /proc (field 4 of /proc/<pid>/stat is the parent). */
function childProcesses(parent: number): Array<{ pid: number; command: string }> {
  const children: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name sits in parentheses and may itself hold spaces or parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent || fields[0] === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      children.push({ pid: Number(entry), command });
    } catch {
      // The process ended while we read it.
    }
  }
  return children;
}
