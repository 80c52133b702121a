import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import { findUserByToken, hashToken, User } from '../db/users';
import { ApiError } from '../domain/apiError';

export const ADMIN_USER_ID = 'admin';

declare module 'express-serve-static-core' {
  interface Request {
    user?: User;
  }
}

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);

/**
 * Bearer-token authentication. The bootstrap admin token is compared by hash in constant time;
 * user tokens are looked up by their SHA-256, so the secret itself is never stored or compared.
 */
export function authenticate(pool: Pool, adminToken: string) {
  const adminHash = hashToken(adminToken);
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) return next(unauthorized('missing Authorization header; send "Authorization: Bearer <token>"'));
    const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/.exec(header);
    if (!match?.[1]) return next(unauthorized('malformed Authorization header; expected "Bearer <token>"'));
    const token = match[1];
    if (timingSafeEqual(hashToken(token), adminHash)) {
      req.user = { userId: ADMIN_USER_ID, isAdmin: true };
      return next();
    }
    try {
      const user = await findUserByToken(pool, token);
      if (!user) return next(unauthorized('invalid or revoked token'));
      req.user = user;
      next();
    } catch (err) {
      next(new ApiError(503, 'temporarily_unavailable', `cannot check the token right now; retry shortly (${(err as Error).message})`));
    }
  };
}

export function requireAdmin(req: Request, _res: Response, next: NextFunction) {
  if (!req.user?.isAdmin) return next(new ApiError(403, 'admin_only', 'this endpoint needs an admin token'));
  next();
}

/** The authenticated user; routes behind `authenticate` always have one. */
export function currentUser(req: Request): User {
  if (!req.user) throw unauthorized('not authenticated');
  return req.user;
}
