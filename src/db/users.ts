import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';

export interface User {
  userId: string;
  isAdmin: boolean;
}

/** Tokens carry 256 random bits; at that entropy a plain SHA-256 is the right stored form. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function newToken(): string {
  return `argus_${randomBytes(32).toString('base64url')}`;
}

export async function ensureUser(pool: Pool, userId: string, isAdmin = false): Promise<{ created: boolean }> {
  const result = await pool.query(
    'INSERT INTO users (user_id, is_admin) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING',
    [userId, isAdmin],
  );
  return { created: result.rowCount === 1 };
}

export async function userExists(pool: Pool, userId: string): Promise<boolean> {
  const result = await pool.query('SELECT 1 FROM users WHERE user_id = $1', [userId]);
  return result.rowCount === 1;
}

/** Issues a token; the secret is returned once and only its hash is kept. */
export async function issueToken(pool: Pool, userId: string): Promise<{ tokenId: string; token: string }> {
  const token = newToken();
  const tokenId = `tok_${randomUUID()}`;
  await pool.query('INSERT INTO api_tokens (token_id, user_id, token_hash) VALUES ($1, $2, $3)', [tokenId, userId, hashToken(token)]);
  return { tokenId, token };
}

/** Revokes an active token; returns its hash (so a cache of looked-up tokens can drop it), or null if there was none. */
export async function revokeToken(pool: Pool, userId: string, tokenId: string): Promise<{ tokenHash: Buffer } | null> {
  const result = await pool.query<{ token_hash: Buffer }>(
    'UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING token_hash',
    [tokenId, userId],
  );
  const row = result.rows[0];
  return row ? { tokenHash: row.token_hash } : null;
}

/**
 * The user an active token (given by its hash) belongs to. A named (prepared) statement, like the
 * API's model reads: it runs on nearly every request, so PostgreSQL plans it once per connection.
 */
export async function findUserByTokenHash(pool: Pool, tokenHash: Buffer): Promise<User | null> {
  const result = await pool.query<{ user_id: string; is_admin: boolean }>({
    name: 'find-user-by-token-hash',
    text: `SELECT u.user_id, u.is_admin FROM api_tokens t JOIN users u USING (user_id)
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
    values: [tokenHash],
  });
  const row = result.rows[0];
  return row ? { userId: row.user_id, isAdmin: row.is_admin } : null;
}

export interface TokenRecord {
  tokenId: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A user's tokens, newest first; secrets are never stored, so never listed. */
export async function listTokens(pool: Pool, userId: string): Promise<TokenRecord[]> {
  const result = await pool.query<{ token_id: string; created_at: Date; revoked_at: Date | null }>(
    'SELECT token_id, created_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, token_id',
    [userId],
  );
  return result.rows.map((r) => ({ tokenId: r.token_id, createdAt: r.created_at, revokedAt: r.revoked_at }));
}
