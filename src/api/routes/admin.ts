import { Router } from 'express';
import type { Pool } from 'pg';
import { ensureUser, issueToken, listTokens, revokeToken, userExists } from '../../db/users';
import { badRequest, conflict, notFound } from '../../domain/apiError';
import { requireAdmin } from '../auth';
import type { TokenCache } from '../tokenCache';
import { usageOf, writeQuota } from '../../db/quotas';
import type { Admission } from '../admission';
import { createUserSchema, quotaSchema } from '../contract/requestSchemas';
import type { QuotaViewBody } from '../contract/responseSchemas';
import { requireJsonBody } from '../jsonBody';
import { isoUtc } from '../servingModelView';

/** Admin-only endpoints: users and their tokens. */
export function adminRoutes(deps: { pool: Pool; tokenCache: TokenCache; admission: Admission }): Router {
  const { pool, tokenCache, admission } = deps;
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

  async function quotaView(userId: string): Promise<QuotaViewBody> {
    const [quota, usage] = await Promise.all([admission.quotaOf(userId), usageOf(pool, userId)]);
    return { user_id: userId, max_gpus: quota.max_gpus, max_models: quota.max_models, source: quota.source, usage };
  }

  router.get('/:user_id/quota', async (req, res) => {
    res.json(await quotaView(await existingUser(req.params.user_id as string)));
  });

  /** Takes effect for the user's next requests; models already accepted keep what they hold. */
  router.put('/:user_id/quota', async (req, res) => {
    const userId = await existingUser(req.params.user_id as string);
    const parsed = quotaSchema.safeParse(requireJsonBody(req, '{"max_gpus": 8, "max_models": 4}'));
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : `${i.path.join('.') || 'body'}: ${i.message}`));
      throw badRequest('invalid_quota', `${problems.join('; ')} (send {"max_gpus": n or null, "max_models": m or null})`);
    }
    await writeQuota(pool, userId, parsed.data);
    res.json(await quotaView(userId));
  });

  return router;
}
