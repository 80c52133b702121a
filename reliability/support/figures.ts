import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Each scenario records its figures here; `reliability/report.ts` gathers them into
 * results/latest.json and docs/reliability.md. `make test` runs the short scale, `make
 * reliability` the full one (trial counts and durations the issue asks for).
 */
export type Scale = 'short' | 'full';
export const SCALE: Scale = process.env.RELIABILITY_SCALE === 'full' ? 'full' : 'short';
export const atScale = <T>(short: T, full: T): T => (SCALE === 'full' ? full : short);

export interface Figure {
  name: string;
  value: number | string;
  /** What the figure must be, in words ("0", "<= 60 s"); absent for context figures. */
  target?: string;
  /** Whether the value meets the target. */
  ok?: boolean;
}

export const PARTS_DIR = path.join(__dirname, '..', 'results', 'parts');

/** The commit the scenario ran on, marked when tracked files had changes not yet committed. */
function measuredCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' }).trim();
  return git('rev-parse', '--short=12', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '+uncommitted');
}

export function recordFigures(scenario: string, title: string, figures: Figure[]): void {
  mkdirSync(PARTS_DIR, { recursive: true });
  const part = { scenario, title, scale: SCALE, commit: measuredCommit(), measured_at: new Date().toISOString(), figures };
  writeFileSync(path.join(PARTS_DIR, `${scenario}.json`), `${JSON.stringify(part, null, 2)}\n`);
}

/** A figure that must be zero. */
export const mustBeZero = (name: string, value: number): Figure => ({ name, value, target: '0', ok: value === 0 });
