import { Router } from 'express';
import type { Pool } from 'pg';
import { ensureUser, issueToken, listTokens, revokeToken, userExists } from '../../db/users';
import { badRequest, conflict, notFound } from '../../domain/apiError';
import { requireAdmin } from '../auth';
import type { TokenCache } from '../tokenCache';
import { createUserSchema } from '../contract/requestSchemas';
import { requireJsonBody } from '../jsonBody';
import { isoUtc } from '../servingModelView';

/** Admin-only endpoints: users and their tokens. */
export function adminRoutes(deps: { pool: Pool; tokenCache: TokenCache }): Router {
  const { pool, tokenCache } = deps;
  const router = Router();
  router.use(requireAdmin);

  async function existingUser(userId: string): Promise<string> {
    if (!(await userExists(pool, userId))) throw notFound(`user ${userId} not found`);
    return userId;
  }

  router.post('/', async (req, res) => {
    const parsed = createUserSchema.safeParse(requireJsonBody(req, '{"user_id": "alice"}'));
    if (!parsed.success) throw badRequest('invalid_user', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { created } = await ensureUser(pool, parsed.data.user_id);
    if (!created) throw conflict('user_exists', `user ${parsed.data.user_id} already exists`);
    res.status(201).json({ user_id: parsed.data.user_id });
  });

  router.post('/:user_id/tokens', async (req, res) => {
    const userId = await existingUser(req.params.user_id as string);
    const { tokenId, token } = await issueToken(pool, userId);
    // The secret is shown this once; only its hash is stored.
    res.status(201).json({ user_id: userId, token_id: tokenId, token });
  });

  router.get('/:user_id/tokens', async (req, res) => {
    const userId = await existingUser(req.params.user_id as string);
    const tokens = await listTokens(pool, userId);
    res.json({ items: tokens.map((t) => ({ token_id: t.tokenId, created_at: isoUtc(t.createdAt), revoked_at: t.revokedAt ? isoUtc(t.revokedAt) : null })) });
  });

  router.delete('/:user_id/tokens/:token_id', async (req, res) => {
    const revoked = await revokeToken(pool, req.params.user_id as string, req.params.token_id as string);
    if (!revoked) throw notFound(`active token ${req.params.token_id} of user ${req.params.user_id} not found`);
    // Refused by this process from the next request on; other replicas within their cache's TTL.
    tokenCache.evict(revoked.tokenHash.toString('hex'));
    res.json({ token_id: req.params.token_id, revoked: true });
  });

  return router;
}
