import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import { findUserByTokenHash, hashToken, User } from '../db/users';
import { ApiError } from '../domain/apiError';
import type { TokenCache } from './tokenCache';

export const ADMIN_USER_ID = 'admin';

declare module 'express-serve-static-core' {
  interface Request {
    user?: User;
    /** SHA-256 of the request's token (hex), computed once by `authenticate` for whatever needs a per-token key. */
    tokenHash?: string;
  }
}

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);

/**
 * Bearer-token authentication. The bootstrap admin token is compared by hash in constant time;
 * user tokens are looked up by their SHA-256, so the secret itself is never stored or compared.
 * A token that authenticated is remembered in `tokenCache` for a few seconds (see TokenCache).
 */
export function authenticate(pool: Pool, adminToken: string, tokenCache: TokenCache) {
  const adminHash = hashToken(adminToken);
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) return next(unauthorized('missing Authorization header; send "Authorization: Bearer <token>"'));
    const match = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/.exec(header);
    if (!match?.[1]) return next(unauthorized('malformed Authorization header; expected "Bearer <token>"'));
    const tokenHash = hashToken(match[1]);
    const tokenHashHex = tokenHash.toString('hex');
    req.tokenHash = tokenHashHex;
    if (timingSafeEqual(tokenHash, adminHash)) {
      req.user = { userId: ADMIN_USER_ID, isAdmin: true };
      return next();
    }
    const cached = tokenCache.get(tokenHashHex);
    if (cached) {
      req.user = cached;
      return next();
    }
    try {
      const user = await findUserByTokenHash(pool, tokenHash);
      if (!user) return next(unauthorized('invalid or revoked token'));
      tokenCache.remember(tokenHashHex, user);
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

/** The hash of the request's token (hex); requests behind `authenticate` always have one. */
export function currentTokenHash(req: Request): string {
  if (!req.tokenHash) throw unauthorized('not authenticated');
  return req.tokenHash;
}

/** The authenticated user; routes behind `authenticate` always have one. */
export function currentUser(req: Request): User {
  if (!req.user) throw unauthorized('not authenticated');
  return req.user;
}
