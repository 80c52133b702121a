import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Clock ticks per second of /proc/<pid>/stat on Linux. */
const TICKS_PER_S = 100;

/** User + system CPU milliseconds in a /proc stat file (a process's, or one thread's under task/); throws once it is gone. */
export function statCpuMs(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

/** User + system CPU milliseconds a process has used so far; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    return statCpuMs(`/proc/${pid}/stat`);
  } catch {
    return 0;
  }
}

/** The PostgreSQL postmaster of the profile's data folder and all its backends. */
export function postgresPids(stateDir: string | undefined): number[] {
  const pidFile = stateDir ? path.join(stateDir, 'postgres', 'postmaster.pid') : '';
  if (!pidFile || !existsSync(pidFile)) return [];
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    });
  return [postmaster, ...children];
}

/** CPU milliseconds that `pids()` (re-listed at the end, as backends come and go) used while `work` ran. */
export async function measureCpu<T>(pids: () => number[], work: () => Promise<T>): Promise<{ result: T; cpuMs: number }> {
  const before = new Map(pids().map((pid) => [pid, cpuMs(pid)]));
  const result = await work();
  let total = 0;
  for (const pid of new Set([...before.keys(), ...pids()])) total += Math.max(0, cpuMs(pid) - (before.get(pid) ?? 0));
  return { result, cpuMs: total };
}
