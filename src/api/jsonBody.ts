import type { Request } from 'express';
import { ApiError } from '../domain/apiError';

/** Endpoints that take JSON only answer 415 to any other media type, with an example of what to send. */
export function requireJsonBody(req: Request, example: string): unknown {
  if (!req.is('application/json')) throw new ApiError(415, 'unsupported_media_type', `send this body as application/json, e.g. ${example}`);
  return req.body;
}
