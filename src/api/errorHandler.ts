import type { NextFunction, Request, Response } from 'express';
import { isDatabaseUnavailable } from '../db/unavailable';
import { ApiError, unavailable } from '../domain/apiError';
import { logger } from '../observability/logger';
import type { ErrorBody } from './contract/responseSchemas';

/** What body-parser attaches to the errors it raises. */
interface HttpErrorLike {
  status?: number;
  type?: string;
  limit?: number;
  message?: string;
}

/** Seconds a client is asked to wait before retrying a 503. */
const RETRY_AFTER_S = 5;

function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (isDatabaseUnavailable(err)) return unavailable('the database is unreachable right now; nothing was changed, retry shortly');
  if (typeof err !== 'object' || err === null) return null;
  const e = err as HttpErrorLike;
  if (e.type === 'entity.too.large') return new ApiError(413, 'body_too_large', `request body is larger than the ${e.limit} byte limit`);
  if (e.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', `invalid JSON body: ${e.message}`);
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new ApiError(415, 'unsupported_media_type', e.message ?? 'unsupported encoding');
  if (err instanceof URIError) return new ApiError(400, 'bad_request', 'the request path is not valid percent-encoding');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  return null;
}

/** Every error leaves as JSON `{ error: { code, message, ... } }`, never with a stack trace. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction) {
  let apiError = toApiError(err);
  if (!apiError) {
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
    apiError = new ApiError(500, 'internal', 'internal error; the details are in the server log');
  } else if (apiError.status === 503) {
    logger.warn({ method: req.method, path: req.path, reason: apiError.message }, 'dependency unavailable');
    res.set('Retry-After', String(RETRY_AFTER_S));
  }
  const body: ErrorBody = { error: { code: apiError.code, message: apiError.message, ...(apiError.details ?? {}) } };
  res.status(apiError.status).json(body);
}
