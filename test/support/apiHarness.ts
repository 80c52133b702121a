import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { ensureUser, issueToken } from '../../src/db/users';
import { serve } from './httpClient';
import { RayDouble } from './rayDouble';
import { RunningStack, startStack, testConfig } from './stack';

/**
 * The API against real Temporal and Postgres with the Ray double: users alice and bob with a
 * token each, and the bootstrap admin token.
 */
export async function startApiHarness(options: { readinessTimeoutS?: number; rateLimitPerMinute?: number } = {}) {
  const adminToken = 'integration-admin-token-0123456789';
  const ray = new RayDouble();
  await ray.start();
  const stack: RunningStack = await startStack(testConfig({ rayUrl: ray.url, readinessTimeoutS: options.readinessTimeoutS ?? 30 }));
  if (options.rateLimitPerMinute !== undefined) stack.config.api.rate_limit_per_minute = options.rateLimitPerMinute;
  await ensureUser(stack.pool, ADMIN_USER_ID, true);
  const tokens = { admin: adminToken, alice: (await issueToken(stack.pool, 'alice')).token, bob: (await issueToken(stack.pool, 'bob')).token };
  const http = await serve(createApp({ config: stack.config, pool: stack.pool, temporal: stack.client, adminToken }), () => tokens.alice);
  return {
    ray,
    stack,
    tokens,
    call: http.call,
    url: http.url,
    async close() {
      await http.close();
      await stack.close();
      await ray.stop();
    },
  };
}
