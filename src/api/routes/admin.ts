import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { ensureUser, issueToken, revokeToken, userExists } from '../../db/users';
import { badRequest, conflict, notFound } from '../../domain/apiError';
import { userIdSchema } from '../../domain/naming';
import { requireAdmin } from '../auth';

export const createUserSchema = z.object({ user_id: userIdSchema }).strict();

/** Admin-only endpoints: users and their tokens. */
export function adminRoutes(deps: { pool: Pool }): Router {
  const { pool } = deps;
  const router = Router();
  router.use(requireAdmin);

  router.post('/', async (req, res) => {
    const parsed = createUserSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest('invalid_user', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const { created } = await ensureUser(pool, parsed.data.user_id);
    if (!created) throw conflict('user_exists', `user ${parsed.data.user_id} already exists`);
    res.status(201).json({ user_id: parsed.data.user_id });
  });

  router.post('/:user_id/tokens', async (req, res) => {
    const userId = req.params.user_id as string;
    if (!(await userExists(pool, userId))) throw notFound(`user ${userId} not found`);
    const { tokenId, token } = await issueToken(pool, userId);
    // The secret is shown this once; only its hash is stored.
    res.status(201).json({ user_id: userId, token_id: tokenId, token });
  });

  router.delete('/:user_id/tokens/:token_id', async (req, res) => {
    const revoked = await revokeToken(pool, req.params.user_id as string, req.params.token_id as string);
    if (!revoked) throw notFound(`active token ${req.params.token_id} of user ${req.params.user_id} not found`);
    res.json({ token_id: req.params.token_id, revoked: true });
  });

  return router;
}
