/**
 * Picks the line a person can act on out of a vLLM engine's failure. When the engine's worker
 * process fails, vLLM's own last words are generic ("Engine core initialization failed. See root
 * cause above.") and Serve's status message holds only those; the cause is an earlier line of the
 * dead replica's log, e.g. `RuntimeError: Cannot find any model weights with '<dir>'`.
 */

import { stripAnsi } from './serveStatus';

/** vLLM's and Ray's wrappers around a failure: they point elsewhere instead of saying what failed. */
const GENERIC_FAILURES = [
  /Engine core initialization failed/i,
  /See (the )?(root cause|stack trace)/i,
  /initialization failed due to an exception in a background process/i,
  /^RuntimeError: Traceback/,
  /The deployment failed to start \d+ times? in a row/i,
  /A replica failed to start with exception/i,
];

/** An exception line, after vLLM's per-process prefix `(Worker pid=1) ERROR 11-29 22:43:15 [file.py:901] `. */
const EXCEPTION_LINE = /^(?:\([\w ]+pid=\d+\)\s+)?(?:(?:ERROR|CRITICAL)\s+\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?\s+\[[^\]]+\]\s+)?((?:[\w.]+\.)?\w*(?:Error|Exception): .+)$/;

export function isGenericEngineFailure(summary: string): boolean {
  return GENERIC_FAILURES.some((pattern) => pattern.test(summary));
}

/** The earliest specific exception in a replica's log (the root; later ones wrap it), if any. */
export function rootCauseInLog(log: string): string | undefined {
  for (const raw of stripAnsi(log).split('\n')) {
    const match = EXCEPTION_LINE.exec(raw.trim());
    const line = match?.[1]?.trim();
    if (line && !isGenericEngineFailure(line)) return line.length > 300 ? `${line.slice(0, 297)}...` : line;
  }
  return undefined;
}
