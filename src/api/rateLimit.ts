import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { hashToken } from '../db/users';
import { ApiError } from '../domain/apiError';

const WINDOW_MS = 60_000;

/**
 * A per-token limit on authenticated requests, so one runaway script cannot starve everyone
 * else. Counted per token (by its hash, never the secret) after authentication; `limitPerMinute`
 * 0 turns it off (benchmarks). Counters live in the process: one API replica, one budget.
 */
export function perTokenRateLimit(limitPerMinute: number): RequestHandler {
  if (limitPerMinute === 0) return (_req: Request, _res: Response, next: NextFunction) => next();
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: limitPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => hashToken(req.get('authorization') ?? '').toString('hex'),
    handler: (_req, _res, next) =>
      next(new ApiError(429, 'rate_limited', `this token sent more than ${limitPerMinute} requests in a minute; wait and retry (see Retry-After)`)),
  });
}
