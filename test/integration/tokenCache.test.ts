import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { ensureUser, issueToken, revokeToken } from '../../src/db/users';
import { serve } from '../support/httpClient';
import { testConfig } from '../support/stack';
import { connectTestServices, TestServices } from '../support/testServices';

/**
 * The token cache across API instances sharing one database, as replicas do: a revoke through
 * one instance is refused there at once, on another within the cache's TTL, and at once
 * everywhere when the cache is off.
 */
const ADMIN_TOKEN = 'token-cache-admin-token-0123456789';
const TTL_S = 1;

let services: TestServices;
const servers: Array<{ close(): Promise<void> }> = [];

async function apiInstance(tokenCacheTtlS: number) {
  const config = testConfig();
  config.api.token_cache_ttl_s = tokenCacheTtlS;
  const http = await serve(createApp({ config, pool: services.pool, temporal: services.client, adminToken: ADMIN_TOKEN }), () => null);
  servers.push(http);
  return http;
}

const listStatus = async (api: Awaited<ReturnType<typeof apiInstance>>, token: string) => (await api.call('GET', '/api/v2/serve/models', { token })).status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  services = await connectTestServices(testConfig());
  await ensureUser(services.pool, ADMIN_USER_ID, true);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await services.close();
});

describe('token cache', () => {
  it('refuses a token revoked through this instance at once, and on another instance once the TTL has passed', async () => {
    const [first, second] = [await apiInstance(TTL_S), await apiInstance(TTL_S)];
    const issued = await issueToken(services.pool, 'alice');
    // Both instances look the token up and remember it.
    expect(await listStatus(first, issued.token)).toBe(200);
    expect(await listStatus(second, issued.token)).toBe(200);

    const revoke = await first.call('DELETE', `/api/v2/users/alice/tokens/${issued.tokenId}`, { token: ADMIN_TOKEN });
    expect(revoke.status).toBe(200);
    expect(await listStatus(first, issued.token)).toBe(401);
    // The other instance still trusts its cached lookup: the documented trade-off.
    expect(await listStatus(second, issued.token)).toBe(200);
    await sleep(TTL_S * 1000 + 300);
    expect(await listStatus(second, issued.token)).toBe(401);
  });

  it('with the cache off, refuses a token at once however it was revoked', async () => {
    const api = await apiInstance(0);
    const issued = await issueToken(services.pool, 'bob');
    expect(await listStatus(api, issued.token)).toBe(200);
    await revokeToken(services.pool, 'bob', issued.tokenId);
    expect(await listStatus(api, issued.token)).toBe(401);
  });

  it('does not remember a refused token: one that works a moment later is accepted', async () => {
    const api = await apiInstance(TTL_S);
    const issued = await issueToken(services.pool, 'bob');
    // Revoked, refused, then the revoke undone in the database: the refusal was not cached.
    await revokeToken(services.pool, 'bob', issued.tokenId);
    expect(await listStatus(api, issued.token)).toBe(401);
    await services.pool.query('UPDATE api_tokens SET revoked_at = NULL WHERE token_id = $1', [issued.tokenId]);
    expect(await listStatus(api, issued.token)).toBe(200);
  });
});
