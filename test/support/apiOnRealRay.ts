import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { ensureUser } from '../../src/db/users';
import { RunningStack, startStack, testConfig } from './stack';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface ApiOnRealRay {
  stack: RunningStack;
  /** Where the API listens, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The user's token. */
  userToken: string;
  /** Calls the API as the user (or with `token`); the body is parsed JSON. */
  call(method: string, path: string, body?: string, contentType?: string, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/**
 * The API and a worker in this process against the real services of the test profile (Temporal,
 * Postgres, the local Ray head, emptied of apps first), with one user and their token.
 */
export async function startApiOnRealRay(userId: string): Promise<ApiOnRealRay> {
  const ray = testConfig().serving.ray_dashboard_url;
  await fetch(`${ray}/api/serve/applications/`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"applications": []}' });
  const stack = await startStack(testConfig(), { pollIntervalMs: 500 });
  await ensureUser(stack.pool, ADMIN_USER_ID, true);
  const app = createApp({ config: stack.config, pool: stack.pool, temporal: stack.client, adminToken: ADMIN_TOKEN });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let userToken = '';
  const call: ApiOnRealRay['call'] = async (method, path, body, contentType = 'application/json', token = userToken) => {
    const response = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': contentType } : {}) }, body });
    return { status: response.status, body: (await response.json()) as any };
  };
  const created = await call('POST', '/api/v2/users', JSON.stringify({ user_id: userId }), 'application/json', ADMIN_TOKEN);
  if (created.status !== 201) throw new Error(`creating ${userId}: ${JSON.stringify(created.body)}`);
  userToken = (await call('POST', `/api/v2/users/${userId}/tokens`, undefined, 'application/json', ADMIN_TOKEN)).body.token;
  return {
    stack,
    url: api,
    userToken,
    call,
    async close() {
      server.close();
      await stack.close();
    },
  };
}
