import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { ensureUser, issueToken } from '../../src/db/users';
import { RayDouble } from './rayDouble';
import { RunningStack, startStack, testConfig } from './stack';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or null for an empty or non-JSON body. */
  body: unknown;
  text: string;
}

export interface CallOptions {
  body?: string;
  type?: string;
  /** A bearer token; null sends no Authorization header. Defaults to the harness's alice. */
  token?: string | null;
  headers?: Record<string, string>;
}

/** Serves an Express app on an ephemeral port and calls it like a client would. */
export async function serve(app: Express, defaultToken: () => string | null) {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  async function call(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const token = options.token === undefined ? defaultToken() : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = options.type ?? 'application/yaml';
    const response = await fetch(`${url}${path}`, { method, headers, body: options.body });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    return { status: response.status, headers: response.headers, body, text };
  }
  return { url, call, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

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
