import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../domain/apiError';
import { logger } from '../observability/logger';

/** What body-parser attaches to the errors it raises. */
interface HttpErrorLike {
  status?: number;
  type?: string;
  limit?: number;
  message?: string;
}

function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (typeof err !== 'object' || err === null) return null;
  const e = err as HttpErrorLike;
  if (e.type === 'entity.too.large') return new ApiError(413, 'body_too_large', `request body is larger than the ${e.limit} byte limit`);
  if (e.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', `invalid JSON body: ${e.message}`);
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  return null;
}

/** Every error leaves as JSON `{ error: { code, message, ... } }`, never with a stack trace. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction) {
  let apiError = toApiError(err);
  if (!apiError) {
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
    apiError = new ApiError(500, 'internal', 'internal error; the details are in the server log');
  }
  res.status(apiError.status).json({ error: { code: apiError.code, message: apiError.message, ...(apiError.details ?? {}) } });
}
