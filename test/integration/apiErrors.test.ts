import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { ADMIN_USER_ID } from '../../src/api/auth';
import { ensureUser, issueToken } from '../../src/db/users';
import { RayDouble } from '../support/rayDouble';
import { eventually, RunningStack, startStack, testConfig } from '../support/stack';

const ADMIN = 'integration-admin-token-0123456789';
let ray: RayDouble;
let stack: RunningStack;
let server: Server;
let api: string;
let alice: string;
let bob: string;

async function call(method: string, path: string, options: { body?: string; type?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? alice : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = options.type ?? 'application/yaml';
  const response = await fetch(`${api}${path}`, { method, headers, body: options.body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, text };
}

beforeAll(async () => {
  ray = new RayDouble();
  await ray.start();
  stack = await startStack(testConfig({ rayUrl: ray.url, readinessTimeoutS: 30 }));
  await ensureUser(stack.pool, ADMIN_USER_ID, true);
  alice = (await issueToken(stack.pool, 'alice')).token;
  bob = (await issueToken(stack.pool, 'bob')).token;
  const app = createApp({ config: stack.config, pool: stack.pool, temporal: stack.client, adminToken: ADMIN });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await stack?.close();
  await ray?.stop();
});

const good = 'model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/demo/tiny-chat\n';

describe('API errors: every failure path answers JSON a person can act on', () => {
  it.each([
    ['no token', null, 401],
    ['malformed header', 'has spaces in it', 401],
    ['unknown token', 'argus_not-a-real-token', 401],
  ])('refuses %s with %i', async (_name, token, status) => {
    const result = await call('GET', '/api/v2/serve/models', { token });
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe('unauthorized');
    expect(result.text).not.toMatch(/at .*\.ts:\d+/);
  });

  it.each([
    ['invalid YAML', 'model_id: [oops', 'application/yaml', 400, 'invalid_yaml'],
    ['unknown field', `${good}gpu_type: H100\n`, 'text/yaml', 400, 'invalid_spec'],
    ['missing model_source', 'model_id: x\n', 'application/x-yaml', 400, 'invalid_spec'],
    ['zero replicas', `${good}num_replicas: 0\n`, 'application/yaml', 422, 'invalid_resources'],
    ["another user's directory", 'model_id: x\nmodel_source: /private/users/bob/m\n', 'application/yaml', 403, 'model_source_forbidden'],
    ['a .. path', 'model_id: x\nmodel_source: /private/hf/../users/bob\n', 'application/yaml', 400, 'invalid_model_source'],
    ['invalid JSON', '{"model_id": ', 'application/json', 400, 'invalid_json'],
    ['an unsupported media type', good, 'text/plain', 415, 'unsupported_media_type'],
  ])('POST with %s answers %i', async (_name, body, type, status, code) => {
    const result = await call('POST', '/api/v2/serve/models', { body, type });
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
    expect(result.body.error.message.length).toBeGreaterThan(10);
  });

  it('answers 413 for a body over the limit, and nothing is created', async () => {
    const result = await call('POST', '/api/v2/serve/models', { body: `${good}# ${'x'.repeat(70_000)}\n` });
    expect(result.status).toBe(413);
    expect((await call('GET', '/api/v2/serve/models')).body.items).toHaveLength(0);
  });

  it('creates, upserts with the same key, hides the model from other users, and accepts JSON', async () => {
    const created = await call('POST', '/api/v2/serve/models', { body: good });
    expect(created.status).toBe(202);
    const key = created.body.model_key;
    await eventually(async () => (await call('GET', `/api/v2/serve/models/${key}`)).body.model.state === 'RUNNING', 30_000, 'RUNNING');
    const upsert = await call('POST', '/api/v2/serve/models', { body: JSON.stringify({ model_id: 'qwen-0.5b', model_source: '/private/hf/demo/tiny-chat', num_replicas: 2 }), type: 'application/json' });
    expect(upsert.status).toBe(202);
    expect(upsert.body).toMatchObject({ model_key: key, state: 'QUEUED', revision: 2 });
    const detail = await call('GET', `/api/v2/serve/models/${key}`);
    expect(detail.body.model.model_id).toMatch(/^alice-\d{12}-qwen-0\.5b$/);
    expect((await call('GET', `/api/v2/serve/models/${key}`, { token: bob })).status).toBe(404);
    expect((await call('PATCH', `/api/v2/serve/models/${key}`, { token: bob, body: '{"num_replicas":1}', type: 'application/json' })).status).toBe(404);
    expect((await call('DELETE', `/api/v2/serve/models/${key}`, { token: bob })).status).toBe(404);
    const list = await call('GET', '/api/v2/serve/models');
    expect(list.body.openai_base_url).toBe(stack.config.serving.openai_base_url);
    expect(list.body.items[0]).toMatchObject({ model_key: key, user_id: 'alice', model_id_suffix: 'qwen-0.5b' });
  });

  it('PATCH accepts only num_replicas', async () => {
    const key = (await call('GET', '/api/v2/serve/models')).body.items[0].model_key;
    const gpus = await call('PATCH', `/api/v2/serve/models/${key}`, { body: '{"gpus_per_replica":2}', type: 'application/json' });
    expect(gpus.status).toBe(400);
    expect(gpus.body.error.message).toMatch(/POST the full ServingSpec/);
    expect((await call('PATCH', `/api/v2/serve/models/${key}`, { body: '{"num_replicas":0}', type: 'application/json' })).status).toBe(422);
    expect((await call('PATCH', `/api/v2/serve/models/${key}`, { body: '{"num_replicas":1,"x":1}', type: 'application/json' })).status).toBe(400);
    const ok = await call('PATCH', `/api/v2/serve/models/${key}`, { body: '{"num_replicas":3}', type: 'application/json' });
    expect(ok.status).toBe(200);
    expect(ok.body.state).toBe('QUEUED');
  });

  it('answers 409 for a suffix whose model is still being deleted', async () => {
    ray.faults.startDelayMs = 300;
    const key = (await call('GET', '/api/v2/serve/models')).body.items[0].model_key;
    ray.faults.dashboardDown = true; // removal cannot finish while Ray is away
    expect((await call('DELETE', `/api/v2/serve/models/${key}`)).body.state).toBe('DELETING');
    const again = await call('POST', '/api/v2/serve/models', { body: good });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/being deleted/);
    ray.faults.dashboardDown = false;
    await eventually(async () => (await call('GET', `/api/v2/serve/models/${key}`)).body.model.state === 'DELETED', 60_000, 'DELETED');
    expect((await call('POST', '/api/v2/serve/models', { body: good })).status).toBe(202);
  });

  it('keeps admin endpoints for admins', async () => {
    expect((await call('POST', '/api/v2/users', { body: '{"user_id":"dave"}', type: 'application/json' })).status).toBe(403);
    expect((await call('GET', '/api/v2/serve/status')).status).toBe(403);
    expect((await call('GET', '/api/v2/serve/no-such-route')).status).toBe(404);
    expect((await call('POST', '/api/v2/users', { body: '{"user_id":"Dave!"}', type: 'application/json', token: ADMIN })).status).toBe(400);
    expect((await call('POST', '/api/v2/users', { body: '{"user_id":"dave"}', type: 'application/json', token: ADMIN })).status).toBe(201);
    expect((await call('POST', '/api/v2/users', { body: '{"user_id":"dave"}', type: 'application/json', token: ADMIN })).status).toBe(409);
    const issued = await call('POST', '/api/v2/users/dave/tokens', { token: ADMIN });
    expect(issued.status).toBe(201);
    expect((await call('GET', '/api/v2/serve/models', { token: issued.body.token })).status).toBe(200);
    expect((await call('DELETE', `/api/v2/users/dave/tokens/${issued.body.token_id}`, { token: ADMIN })).status).toBe(200);
    expect((await call('GET', '/api/v2/serve/models', { token: issued.body.token })).status).toBe(401);
    expect((await call('POST', '/api/v2/users/nobody/tokens', { token: ADMIN })).status).toBe(404);
    expect((await call('GET', '/api/v2/serve/status', { token: ADMIN })).status).toBe(200);
  });
});
