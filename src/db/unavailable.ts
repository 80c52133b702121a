/**
 * Whether an error from `pg` means the database cannot be reached right now (refused,
 * timed out, shutting down, out of connections) rather than that a query was wrong. The API
 * answers the first kind with 503 so clients retry, and keeps 500 for real defects.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);
// SQLSTATE class 08 (connection exception), admin/crash shutdown, cannot connect now, too many connections.
const SQLSTATE_UNAVAILABLE = /^(08...|57P01|57P02|57P03|53300)$/;
const MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|the database system is (starting up|shutting down)/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE_UNAVAILABLE.test(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isDatabaseUnavailable);
  return typeof message === 'string' && MESSAGES.test(message);
}
