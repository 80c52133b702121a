import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ApiError } from '../domain/apiError';
import { currentTokenHash } from './auth';

const WINDOW_MS = 60_000;

/**
 * A per-token limit on authenticated requests, so one runaway script cannot starve everyone
 * else. Counted per token (by the hash authentication computed, never the secret); `limitPerMinute`
 * 0 turns it off (benchmarks). Counters live in the process: one API replica, one budget.
 */
export function perTokenRateLimit(limitPerMinute: number): RequestHandler {
  if (limitPerMinute === 0) return (_req: Request, _res: Response, next: NextFunction) => next();
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: currentTokenHash,
    handler: (_req, _res, next) =>
      next(new ApiError(429, 'rate_limited', `this token sent more than ${limitPerMinute} requests in a minute; wait and retry (see Retry-After)`)),
  });
}
