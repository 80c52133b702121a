import { Client, Connection } from '@temporalio/client';
import type { z } from 'zod';
import { createApp } from '../../src/api/app';
import { buildOpenApiDocument } from '../../src/api/contract/openapiDocument';
import {
  errorBodySchema,
  healthSchema,
  modelDetailSchema,
  modelListSchema,
  quotaViewSchema,
  requestAckSchema,
  serveClusterStatusSchema,
  tokenIssuedSchema,
  tokenListSchema,
  tokenRevokedSchema,
  userCreatedSchema,
  whoAmISchema,
} from '../../src/api/contract/responseSchemas';
import { createPool } from '../../src/db/pool';
import { issueToken, revokeToken } from '../../src/db/users';
import { startApiHarness } from '../support/apiHarness';
import { ApiResponse, CallOptions, serve } from '../support/httpClient';
import { eventually } from '../support/stack';

/**
 * The API contract, walked end to end: every operation of the OpenAPI document, every status it
 * documents, each answer parsed with the strict zod schema the document was generated from. The
 * last test fails if an operation or a documented status was never exercised, so the document
 * and this suite cannot drift apart.
 */
const document = buildOpenApiDocument();
type OperationId =
  | 'createModel'
  | 'listModels'
  | 'getModel'
  | 'patchModel'
  | 'deleteModel'
  | 'serveStatus'
  | 'createUser'
  | 'issueToken'
  | 'listTokens'
  | 'revokeToken'
  | 'getQuota'
  | 'setQuota'
  | 'whoAmI'
  | 'health';

const SUCCESS_SCHEMAS: Record<OperationId, z.ZodType> = {
  createModel: requestAckSchema,
  listModels: modelListSchema,
  getModel: modelDetailSchema,
  patchModel: requestAckSchema,
  deleteModel: requestAckSchema,
  serveStatus: serveClusterStatusSchema,
  createUser: userCreatedSchema,
  issueToken: tokenIssuedSchema,
  listTokens: tokenListSchema,
  revokeToken: tokenRevokedSchema,
  getQuota: quotaViewSchema,
  setQuota: quotaViewSchema,
  whoAmI: whoAmISchema,
  health: healthSchema,
};

interface Operation {
  id: OperationId;
  method: string;
  path: string;
  statuses: number[];
}
const METHODS = ['get', 'post', 'patch', 'delete', 'put'] as const;
const operations: Operation[] = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
  METHODS.flatMap((method) => {
    const operation = item?.[method];
    if (!operation) return [];
    return [{ id: operation.operationId as OperationId, method: method.toUpperCase(), path, statuses: Object.keys(operation.responses ?? {}).map(Number) }];
  }),
);
const operation = (id: OperationId): Operation => {
  const found = operations.find((o) => o.id === id);
  if (!found) throw new Error(`operation ${id} is not in the OpenAPI document`);
  return found;
};

const exercised = new Map<OperationId, Set<number>>();

let h: Awaited<ReturnType<typeof startApiHarness>>;
beforeAll(async () => {
  h = await startApiHarness();
  h.ray.nodes = [{ gpus: 8, acceleratorType: 'H20' }];
});
afterAll(async () => {
  await h?.close();
});

/** Calls an operation with its path parameters filled in. */
function call(id: OperationId, params: Record<string, string> = {}, options: CallOptions = {}, via = () => h.call): Promise<ApiResponse> {
  const { method, path } = operation(id);
  const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? `missing-${name}`));
  return via()(method, concrete, options);
}

/** Asserts the status, parses the body with the documented schema and marks the case as exercised. */
function expectAnswer(id: OperationId, response: ApiResponse, status: number, code?: string) {
  if (response.status !== status) throw new Error(`${id}: expected ${status}, got ${response.status}: ${response.text.slice(0, 400)}`);
  expect(operation(id).statuses).toContain(status);
  if (status < 300) {
    SUCCESS_SCHEMAS[id].parse(response.body);
  } else if (id === 'health') {
    healthSchema.parse(response.body);
  } else {
    const error = errorBodySchema.parse(response.body).error;
    if (code) expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    expect(response.text).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack traces
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  }
  if (!exercised.has(id)) exercised.set(id, new Set());
  exercised.get(id)?.add(status);
  return response.body;
}

const ack = (body: unknown) => requestAckSchema.parse(body);
const detailOf = async (key: string) => modelDetailSchema.parse((await call('getModel', { model_key: key })).body);
const reaches = (key: string, state: string) =>
  eventually(async () => (await detailOf(key)).model.state === state, 45_000, `${key} to reach ${state}`);

const spec = (suffix: string, extra = '') => `model_id: ${suffix}\nmodel_source: $HOME/common/hf/demo/tiny-chat\n${extra}`;
const json = (value: unknown): CallOptions => ({ body: JSON.stringify(value), type: 'application/json' });
const admin = (options: CallOptions = {}): CallOptions => ({ ...options, token: h.tokens.admin });

describe('the OpenAPI document', () => {
  it('is served as OpenAPI 3.1 with a browsable page, without a token', async () => {
    const served = await h.call('GET', '/api/v2/openapi.json', { token: null });
    expect(served.status).toBe(200);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(document)));
    expect(document.openapi).toBe('3.1.0');
    const page = await h.call('GET', '/api/v2/docs/', { token: null });
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/swagger-ui/i);
    expect(operations.map((o) => o.id).sort()).toEqual(Object.keys(SUCCESS_SCHEMAS).sort());
  });
});

describe('authentication on every operation', () => {
  let revoked: string;
  beforeAll(async () => {
    const issued = await issueToken(h.stack.pool, 'bob');
    await revokeToken(h.stack.pool, 'bob', issued.tokenId);
    revoked = issued.token;
  });

  it.each([
    ['no token', null, undefined],
    ['a malformed header', null, { authorization: 'Token abc' }],
    ['a header with spaces in the token', null, { authorization: 'Bearer has spaces' }],
    ['an unknown token', 'argus_not-a-real-token', undefined],
  ])('answers 401 to %s', async (_name, token, headers) => {
    for (const op of operations.filter((o) => o.id !== 'health')) {
      const response = await call(op.id, { model_key: 'svc-alice-20260101-000000-abcd', user_id: 'alice', token_id: 'tok_x' }, { token, headers });
      expectAnswer(op.id, response, 401, 'unauthorized');
    }
  });

  it('answers 401 to a revoked token', async () => {
    for (const op of operations.filter((o) => o.id !== 'health')) {
      expectAnswer(op.id, await call(op.id, { model_key: 'svc-bob-20260101-000000-abcd', user_id: 'bob', token_id: 'tok_x' }, { token: revoked }), 401, 'unauthorized');
    }
  });

  it("tells a token's holder who they are, and whether they are an admin", async () => {
    expect(expectAnswer('whoAmI', await call('whoAmI', {}), 200)).toEqual({ user_id: 'alice', is_admin: false });
    expect(expectAnswer('whoAmI', await call('whoAmI', {}, admin()), 200)).toEqual({ user_id: 'admin', is_admin: true });
  });

  it('answers 403 to a user on every admin operation', async () => {
    const params = { user_id: 'bob', token_id: 'tok_x' };
    expectAnswer('serveStatus', await call('serveStatus', params), 403, 'admin_only');
    expectAnswer('createUser', await call('createUser', params, json({ user_id: 'eve' })), 403, 'admin_only');
    expectAnswer('issueToken', await call('issueToken', params), 403, 'admin_only');
    expectAnswer('listTokens', await call('listTokens', params), 403, 'admin_only');
    expectAnswer('revokeToken', await call('revokeToken', params), 403, 'admin_only');
    expectAnswer('getQuota', await call('getQuota', params), 403, 'admin_only');
    expectAnswer('setQuota', await call('setQuota', params, json({ max_gpus: 100, max_models: 100 })), 403, 'admin_only');
  });
});

describe('models', () => {
  let key: string;

  it('POST accepts a ServingSpec in each YAML media type and in JSON', async () => {
    const created = ack(expectAnswer('createModel', await call('createModel', {}, { body: spec('qwen-0.5b'), type: 'application/yaml' }), 202));
    expect(created).toEqual({ model_key: expect.stringMatching(/^svc-alice-\d{8}-\d{6}-[0-9a-z]{4}$/), state: 'QUEUED', revision: 1, changed: true });
    key = created.model_key;
    for (const [suffix, type] of [['x-yaml', 'application/x-yaml'], ['text-yaml', 'text/yaml; charset=utf-8']]) {
      expectAnswer('createModel', await call('createModel', {}, { body: spec(suffix as string), type }), 202);
    }
    expectAnswer('createModel', await call('createModel', {}, json({ model_id: 'as-json', model_source: '/private/users/alice/ckpt', gpus_per_replica: 2 })), 202);
    await reaches(key, 'RUNNING');
  });

  it('POST of the same suffix upserts the same model; an identical re-POST changes nothing', async () => {
    const upsert = ack(expectAnswer('createModel', await call('createModel', {}, { body: spec('qwen-0.5b', 'num_replicas: 2\n') }), 202));
    expect(upsert).toEqual({ model_key: key, state: 'QUEUED', revision: 2, changed: true });
    const same = ack(expectAnswer('createModel', await call('createModel', {}, { body: spec('qwen-0.5b', 'num_replicas: 2\n') }), 202));
    expect(same).toMatchObject({ model_key: key, revision: 2, changed: false });
    await reaches(key, 'RUNNING');
  });

  it.each([
    ['invalid YAML', 'model_id: [oops', 'invalid_yaml'],
    ['a YAML list', '- model_id: x\n', 'invalid_spec'],
    ['a custom YAML tag', 'model_id: !!js/function "f() {}"\nmodel_source: /private/hf/x\n', 'invalid_yaml'],
    ['duplicate keys', 'model_id: a\nmodel_id: b\nmodel_source: /private/hf/x\n', 'invalid_yaml'],
    ['an alias bomb', `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`, 'invalid_yaml'],
    ['an empty body', '  \n', 'invalid_yaml'],
    ['an unknown field', spec('x', 'gpu_type: H100\n'), 'invalid_spec'],
    ['accelerator_type as a number', spec('x', 'accelerator_type: 100\n'), 'invalid_spec'],
    ['a missing model_source', 'model_id: x\n', 'invalid_spec'],
    ['a suffix with a space', spec('qwen 0.5b'), 'invalid_spec'],
    ['a suffix with a slash', spec('org/model'), 'invalid_spec'],
    ['a suffix with ..', spec('a..b'), 'invalid_spec'],
    ['num_replicas as a string', spec('x', 'num_replicas: two\n'), 'invalid_spec'],
    ['a refused engine argument', spec('x', 'engine_kwargs: {trust_remote_code: true}\n'), 'invalid_spec'],
    ['an engine argument not on the allowlist', spec('x', 'engine_kwargs: {download_dir: /tmp}\n'), 'invalid_spec'],
    ['a .. path', 'model_id: x\nmodel_source: /private/hf/../users/bob\n', 'invalid_model_source'],
    ['a percent-encoded path', 'model_id: x\nmodel_source: /private/hf/%2e%2e/users/bob\n', 'invalid_model_source'],
    ['a malformed repo id', 'model_id: x\nmodel_source: Qwen/Qwen 2.5\n', 'invalid_model_source'],
  ])('POST with %s answers 400', async (_name, body, code) => {
    expectAnswer('createModel', await call('createModel', {}, { body }), 400, code);
  });

  it('POST with invalid JSON answers 400', async () => {
    expectAnswer('createModel', await call('createModel', {}, { body: '{"model_id": ', type: 'application/json' }), 400, 'invalid_json');
  });

  it.each([
    ["another user's directory", '/private/users/bob/model'],
    ['$HOME/common/datasets', '$HOME/common/datasets/x'],
    ['a path outside /private', '/etc/passwd'],
  ])('POST with %s answers 403', async (_name, source) => {
    expectAnswer('createModel', await call('createModel', {}, { body: `model_id: x\nmodel_source: ${source}\n` }), 403, 'model_source_forbidden');
  });

  it.each([
    ['zero replicas', 'num_replicas: 0\n'],
    ['fractional replicas', 'num_replicas: 1.5\n'],
    ['too many GPUs per replica', 'gpus_per_replica: 9\n'],
    ['a readiness timeout below the minimum', 'readiness_timeout_s: 5\n'],
  ])('POST with %s answers 422', async (_name, extra) => {
    expectAnswer('createModel', await call('createModel', {}, { body: spec('x', extra) }), 422, 'invalid_resources');
  });

  it('POST answers 413 above the body limit and 415 for other media types; nothing is created', async () => {
    const before = modelListSchema.parse((await call('listModels')).body).items.length;
    expectAnswer('createModel', await call('createModel', {}, { body: `${spec('big')}# ${'x'.repeat(70_000)}\n` }), 413, 'body_too_large');
    expectAnswer('createModel', await call('createModel', {}, { body: spec('plain'), type: 'text/plain' }), 415, 'unsupported_media_type');
    expect(modelListSchema.parse((await call('listModels')).body).items).toHaveLength(before);
  });

  it('GET lists the caller\'s models only, with the endpoint users call', async () => {
    const list = modelListSchema.parse(expectAnswer('listModels', await call('listModels'), 200));
    expect(list.openai_base_url).toBe(h.stack.config.serving.openai_base_url);
    expect(list.items.map((m) => m.model_id_suffix).sort()).toEqual(['as-json', 'qwen-0.5b', 'text-yaml', 'x-yaml']);
    const bobs = modelListSchema.parse(expectAnswer('listModels', await call('listModels', {}, { token: h.tokens.bob }), 200));
    expect(bobs.items).toHaveLength(0);
  });

  it('GET of one model answers every field of the contract', async () => {
    const detail = modelDetailSchema.parse(expectAnswer('getModel', await call('getModel', { model_key: key }), 200));
    const model = detail.model;
    expect(model).toMatchObject({ model_key: key, user_id: 'alice', model_id_suffix: 'qwen-0.5b', num_replicas: 2, gpus_per_replica: 1, total_gpus: 2, state: 'RUNNING', error_summary: null });
    expect(model.model_id_prefix).toMatch(/^alice-\d{12}$/);
    expect(model.model_id).toBe(`${model.model_id_prefix}-qwen-0.5b`);
    expect(model.endpoint).toEqual({ openai_base_url: h.stack.config.serving.openai_base_url, model: model.model_id });
    expect(model.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(model.model_source).toBe('/private/hf/demo/tiny-chat');
    expect(detail.resolved_spec_yaml).toBe('model_id: qwen-0.5b\nmodel_source: /private/hf/demo/tiny-chat\nnum_replicas: 2\ngpus_per_replica: 1\n');
    expect(JSON.stringify(detail)).not.toContain(h.stack.config.serving.storage_root);
    expect(detail.events[0]).toMatchObject({ seq: 1, event_type: 'DEPLOY_REQUESTED' });
    expect(detail.events.map((e) => e.seq)).toEqual(detail.events.map((_, i) => i + 1));
    // Serve status is cached for a moment, so it may trail the model's state briefly.
    await eventually(async () => (await detailOf(key)).serve_status.running_replicas === 2, 10_000, 'serve_status to show 2 replicas');
    // The model's own app, named after its key and revision.
    expect((await detailOf(key)).serve_status).toEqual({
      app_name: `${h.stack.config.serving.app_name}--${key}--r1`, app_status: 'RUNNING', deployment_status: 'HEALTHY', running_replicas: 2, target_replicas: 2, message: null });
    const json = modelDetailSchema.parse((await call('getModel', { model_key: (await keyOf('as-json')) })).body);
    expect(json.model).toMatchObject({ model_source: '/private/users/alice/ckpt', total_gpus: 2 });
  });

  it('GET answers 404 for an unknown key, a malformed key and another user\'s model', async () => {
    expectAnswer('getModel', await call('getModel', { model_key: 'svc-alice-20200101-000000-zzzz' }), 404, 'not_found');
    expectAnswer('getModel', await call('getModel', { model_key: '../users' }), 404, 'not_found');
    const hidden = expectAnswer('getModel', await call('getModel', { model_key: key }, { token: h.tokens.bob }), 404, 'not_found');
    expect(errorBodySchema.parse(hidden).error.message).toBe(`model ${key} not found`);
  });

  it('PATCH scales, and changes allowlisted engine_kwargs (merged; null removes a key)', async () => {
    const scaled = ack(expectAnswer('patchModel', await call('patchModel', { model_key: key }, json({ num_replicas: 3 })), 200));
    expect(scaled).toMatchObject({ model_key: key, state: 'QUEUED', revision: 3, changed: true });
    await reaches(key, 'RUNNING');
    ack(expectAnswer('patchModel', await call('patchModel', { model_key: key }, json({ engine_kwargs: { max_model_len: 4096, enforce_eager: true } })), 200));
    await reaches(key, 'RUNNING');
    const both = ack(expectAnswer('patchModel', await call('patchModel', { model_key: key }, json({ num_replicas: 1, engine_kwargs: { enforce_eager: null } })), 200));
    expect(both.revision).toBe(5);
    await reaches(key, 'RUNNING');
    const detail = await detailOf(key);
    expect(detail.resolved_spec_yaml).toContain('num_replicas: 1\n');
    expect(detail.resolved_spec_yaml).toContain('engine_kwargs:\n  max_model_len: 4096\n');
    expect(detail.resolved_spec_yaml).not.toContain('enforce_eager');
    expect(detail.events.map((e) => e.event_type)).toContain('SCALE_REQUESTED');
  });

  it.each([
    ['gpus_per_replica', { gpus_per_replica: 2 }, /POST the full ServingSpec/],
    ['model_source', { model_source: '/private/hf/other' }, /POST the full ServingSpec/],
    ['an unknown field', { num_replicas: 1, x: 1 }, /unknown field\(s\): x/],
    ['an empty object', {}, /changes nothing/],
    ['a JSON array', [1], /must be a JSON object/],
    ['num_replicas as a string', { num_replicas: '2' }, /num_replicas/],
    ['a refused engine argument', { engine_kwargs: { trust_remote_code: true } }, /trust_remote_code is not allowed/],
  ])('PATCH with %s answers 400', async (_name, body, message) => {
    const error = errorBodySchema.parse(expectAnswer('patchModel', await call('patchModel', { model_key: key }, json(body)), 400)).error;
    expect(error.message).toMatch(message);
  });

  it('PATCH answers 404, 413, 415 and 422 where the contract says so', async () => {
    expectAnswer('patchModel', await call('patchModel', { model_key: key }, { ...json({ num_replicas: 2 }), token: h.tokens.bob }), 404, 'not_found');
    expectAnswer('patchModel', await call('patchModel', { model_key: key }, { body: JSON.stringify({ engine_kwargs: { seed: 1 }, pad: 'x'.repeat(70_000) }), type: 'application/json' }), 413);
    expectAnswer('patchModel', await call('patchModel', { model_key: key }, { body: 'num_replicas: 2\n', type: 'application/yaml' }), 415, 'unsupported_media_type');
    expectAnswer('patchModel', await call('patchModel', { model_key: key }, json({ num_replicas: 0 })), 422, 'invalid_resources');
    expectAnswer('patchModel', await call('patchModel', { model_key: key }, json({ num_replicas: 65 })), 422, 'invalid_resources');
    expect((await detailOf(key)).model.num_replicas).toBe(1); // nothing refused was applied
  });

  it('answers 409 to changes of a model being deleted, then DELETED and its suffix free again', async () => {
    const victim = await keyOf('x-yaml');
    h.ray.faults.dashboardDown = true; // removal cannot finish while Ray is away
    try {
      const deleting = ack(expectAnswer('deleteModel', await call('deleteModel', { model_key: victim }), 200));
      expect(deleting).toMatchObject({ model_key: victim, state: 'DELETING', changed: true });
      expectAnswer('createModel', await call('createModel', {}, { body: spec('x-yaml') }), 409, 'model_busy');
      expectAnswer('patchModel', await call('patchModel', { model_key: victim }, json({ num_replicas: 2 })), 409, 'model_busy');
      expect(ack(expectAnswer('deleteModel', await call('deleteModel', { model_key: victim }), 200))).toMatchObject({ state: 'DELETING', changed: false });
    } finally {
      h.ray.faults.dashboardDown = false;
    }
    await reaches(victim, 'DELETED');
    expect(ack(expectAnswer('deleteModel', await call('deleteModel', { model_key: victim }), 200))).toMatchObject({ state: 'DELETED', changed: false });

    // A POST that read the row just before the delete finished must not start the finished workflow again.
    const eventsBefore = (await detailOf(victim)).events.length;
    await h.stack.pool.query("UPDATE models SET deleted_at = NULL, state = 'RUNNING' WHERE model_key = $1", [victim]);
    try {
      expectAnswer('createModel', await call('createModel', {}, { body: spec('x-yaml') }), 409, 'model_finished');
      const runs = [];
      for await (const run of h.stack.client.workflow.list({ query: `WorkflowId = 'model-${victim}'` })) runs.push(run.runId);
      expect(runs).toHaveLength(1);
      expect((await detailOf(victim)).events).toHaveLength(eventsBefore);
    } finally {
      await h.stack.pool.query("UPDATE models SET deleted_at = now(), state = 'DELETED' WHERE model_key = $1", [victim]);
    }
    expect(modelListSchema.parse((await call('listModels')).body).items.map((m) => m.model_key)).not.toContain(victim);
    const again = ack(expectAnswer('createModel', await call('createModel', {}, { body: spec('x-yaml') }), 202));
    expect(again.model_key).not.toBe(victim);
  });

  it('DELETE answers 404 for an unknown model and another user\'s model', async () => {
    expectAnswer('deleteModel', await call('deleteModel', { model_key: 'svc-alice-20200101-000000-zzzz' }), 404, 'not_found');
    expectAnswer('deleteModel', await call('deleteModel', { model_key: key }, { token: h.tokens.bob }), 404, 'not_found');
    expect((await detailOf(key)).model.state).toBe('RUNNING');
  });

  async function keyOf(suffix: string): Promise<string> {
    const found = modelListSchema.parse((await call('listModels')).body).items.find((m) => m.model_id_suffix === suffix);
    if (!found) throw new Error(`no model ${suffix}`);
    return found.model_key;
  }
});

describe('admin', () => {
  it('summarises Ray Serve for an admin', async () => {
    // A deploy from the previous test may still be settling, and the status is cached for a moment.
    const status = await eventually(async () => {
      const body = serveClusterStatusSchema.parse(expectAnswer('serveStatus', await call('serveStatus', {}, admin()), 200));
      return body.applications[h.stack.config.serving.app_name]?.status === 'RUNNING' && body;
    }, 15_000, 'the app to be RUNNING');
    const app = status.applications[h.stack.config.serving.app_name];
    expect(Object.keys(app?.deployments ?? {}).length).toBeGreaterThan(0);
    // Capacity as Ray lists the nodes (the double: one head node of 8 H20 GPUs), and what models reserve.
    const { capacity } = status;
    expect(capacity.nodes).toEqual([{ node_id: expect.any(String), is_head: true, gpus: 8, accelerator_types: ['H20'] }]);
    const alices = modelListSchema.parse((await call('listModels')).body).items.filter((m) => m.state !== 'DELETED');
    const reserved = alices.reduce((sum, m) => sum + m.total_gpus, 0);
    expect(capacity.accelerators.H20).toEqual({ capacity: 8, reserved, free: 8 - reserved });
    expect(capacity.users.find((u) => u.user_id === 'alice')).toMatchObject({ gpus: reserved, models: alices.length, max_gpus: null, quota_source: 'default' });
  });

  it('creates users, refusing invalid ids, duplicates and non-JSON bodies', async () => {
    expect(expectAnswer('createUser', await call('createUser', {}, admin(json({ user_id: 'dave' }))), 201)).toEqual({ user_id: 'dave' });
    expectAnswer('createUser', await call('createUser', {}, admin(json({ user_id: 'dave' }))), 409, 'user_exists');
    for (const bad of ['Dave', 'a b', '../x', '', 'x'.repeat(33)]) {
      expectAnswer('createUser', await call('createUser', {}, admin(json({ user_id: bad }))), 400, 'invalid_user');
    }
    expectAnswer('createUser', await call('createUser', {}, admin(json({ user_id: 'erin', admin: true }))), 400, 'invalid_user');
    expectAnswer('createUser', await call('createUser', {}, admin({ body: 'user_id: erin', type: 'application/yaml' })), 415, 'unsupported_media_type');
    expectAnswer('createUser', await call('createUser', {}, admin({ body: JSON.stringify({ user_id: 'x'.repeat(70_000) }), type: 'application/json' })), 413);
  });

  it('issues a token shown once, lists tokens without secrets, and revokes', async () => {
    const issued = tokenIssuedSchema.parse(expectAnswer('issueToken', await call('issueToken', { user_id: 'dave' }, admin()), 201));
    expect(issued.token.length).toBeGreaterThanOrEqual(40);
    expectAnswer('listModels', await call('listModels', {}, { token: issued.token }), 200);
    const listed = expectAnswer('listTokens', await call('listTokens', { user_id: 'dave' }, admin()), 200);
    expect(tokenListSchema.parse(listed).items).toEqual([{ token_id: issued.token_id, created_at: expect.any(String), revoked_at: null }]);
    expect(JSON.stringify(listed)).not.toContain(issued.token);
    expect(expectAnswer('revokeToken', await call('revokeToken', { user_id: 'dave', token_id: issued.token_id }, admin()), 200)).toEqual({ token_id: issued.token_id, revoked: true });
    expectAnswer('listModels', await call('listModels', {}, { token: issued.token }), 401, 'unauthorized');
    expectAnswer('revokeToken', await call('revokeToken', { user_id: 'dave', token_id: issued.token_id }, admin()), 404, 'not_found');
    expectAnswer('revokeToken', await call('revokeToken', { user_id: 'alice', token_id: issued.token_id }, admin()), 404, 'not_found');
  });

  it("sets and reads a user's quota, and refuses requests beyond it with 403 naming quota, usage and request", async () => {
    const before = quotaViewSchema.parse(expectAnswer('getQuota', await call('getQuota', { user_id: 'bob' }, admin()), 200));
    expect(before).toEqual({ user_id: 'bob', max_gpus: null, max_models: null, source: 'default', usage: { gpus: 0, models: 0 } });
    const set = quotaViewSchema.parse(expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin(json({ max_gpus: 3, max_models: 2 }))), 200));
    expect(set).toMatchObject({ max_gpus: 3, max_models: 2, source: 'user' });
    const bob = (options: CallOptions) => ({ ...options, token: h.tokens.bob });
    const first = ack(expectAnswer('createModel', await call('createModel', {}, bob({ body: spec('bobs-first', 'num_replicas: 2\n') })), 202));
    // 2 GPUs held, 2 more asked: past the 3 allowed.
    const refused = errorBodySchema.parse(expectAnswer('createModel', await call('createModel', {}, bob({ body: spec('bobs-second', 'num_replicas: 2\n') })), 403, 'quota_exceeded')).error;
    expect(refused.message).toMatch(/needs 2 GPUs and bob's other models hold 2 of 3 \(quota: 3 GPUs and 2 models/);
    // An upsert of the same model counts its new size, not both.
    ack(expectAnswer('createModel', await call('createModel', {}, bob({ body: spec('bobs-first', 'num_replicas: 3\n') })), 202));
    const scaleUp = errorBodySchema.parse(expectAnswer('patchModel', await call('patchModel', { model_key: first.model_key }, bob(json({ num_replicas: 4 }))), 403, 'quota_exceeded')).error;
    expect(scaleUp.message).toMatch(/needs 4 GPUs and bob's other models hold 0 of 3/);
    expectAnswer('createModel', await call('createModel', {}, bob({ body: spec('bobs-tiny', 'num_replicas: 1\n') })), 403, 'quota_exceeded');
    expect(quotaViewSchema.parse(expectAnswer('getQuota', await call('getQuota', { user_id: 'bob' }, admin()), 200)).usage).toEqual({ gpus: 3, models: 1 });
    // Bad quota bodies change nothing.
    expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin(json({ max_gpus: -1, max_models: 1 }))), 400, 'invalid_quota');
    expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin(json({ max_gpus: 1 }))), 400, 'invalid_quota');
    expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin(json({ max_gpus: 1, max_models: 1, extra: 1 }))), 400, 'invalid_quota');
    expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin({ body: 'max_gpus: 1', type: 'application/yaml' })), 415, 'unsupported_media_type');
    expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin({ body: JSON.stringify({ max_gpus: 1, max_models: 1, pad: 'x'.repeat(70_000) }), type: 'application/json' })), 413);
    expectAnswer('setQuota', await call('setQuota', { user_id: 'nobody' }, admin(json({ max_gpus: 1, max_models: 1 }))), 404, 'not_found');
    expectAnswer('getQuota', await call('getQuota', { user_id: 'nobody' }, admin()), 404, 'not_found');
    expect(quotaViewSchema.parse((await call('getQuota', { user_id: 'bob' }, admin())).body)).toMatchObject({ max_gpus: 3, max_models: 2 });
    expectAnswer('deleteModel', await call('deleteModel', { model_key: first.model_key }, bob({})), 200);
    expectAnswer('setQuota', await call('setQuota', { user_id: 'bob' }, admin(json({ max_gpus: null, max_models: null }))), 200);
  });

  it('answers 422 at once for a model larger than the whole cluster', async () => {
    const error = errorBodySchema.parse(expectAnswer('createModel', await call('createModel', {}, { body: spec('too-big', 'num_replicas: 3\ngpus_per_replica: 4\n') }), 422, 'exceeds_cluster')).error;
    expect(error.message).toMatch(/needs 12 H20 GPUs \(num_replicas 3 x gpus_per_replica 4\) and the whole cluster has 8 \(1 node with 8 GPUs\)/);
  });

  it('answers 404 for tokens of a user that does not exist', async () => {
    expectAnswer('issueToken', await call('issueToken', { user_id: 'nobody' }, admin()), 404, 'not_found');
    expectAnswer('listTokens', await call('listTokens', { user_id: 'nobody' }, admin()), 404, 'not_found');
  });

  it('answers 404 for paths that are not routes, even under /api/v2/serve', async () => {
    const unknown = await h.call('GET', '/api/v2/serve/no-such-route');
    expect(unknown.status).toBe(404);
    expect(errorBodySchema.parse(unknown.body).error.code).toBe('not_found');
  });

  it('answers 405 with Allow for a documented path asked with a method it does not have', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/api/v2/serve/models', 'POST, GET'],
      ['PUT', '/api/v2/serve/status', 'GET'],
      ['POST', '/api/v2/serve/models/svc-alice-20200101-000000-zzzz', 'GET, PATCH, DELETE'],
      ['DELETE', '/healthz', 'GET'],
    ] as const) {
      const response = await h.call(method, path);
      expect([response.status, response.headers.get('allow')]).toEqual([405, allow]);
      expect(errorBodySchema.parse(response.body).error.code).toBe('method_not_allowed');
    }
  });

  it('reports health', async () => {
    expectAnswer('health', await call('health', {}, { token: null }), 200);
  });
});

describe('when Postgres, Temporal and Ray cannot be reached', () => {
  it('every operation answers 503 with Retry-After, and nothing is accepted', async () => {
    const config = structuredClone(h.stack.config);
    config.serving.ray_dashboard_url = 'http://127.0.0.1:9';
    const pool = createPool('postgres://argus@127.0.0.1:9/argus');
    const connection = Connection.lazy({ address: '127.0.0.1:9', connectTimeout: '1 second' });
    const dead = await serve(createApp({ config, pool, temporal: new Client({ connection }), adminToken: h.tokens.admin }), () => h.tokens.admin);
    try {
      const params = { model_key: 'svc-alice-20260101-000000-abcd', user_id: 'alice', token_id: 'tok_x' };
      const bodies: Partial<Record<OperationId, CallOptions>> = {
        createModel: { body: spec('outage') },
        patchModel: json({ num_replicas: 2 }),
        createUser: json({ user_id: 'outage' }),
        // The admin's token is checked without the database; a user's is not.
        whoAmI: { token: h.tokens.alice },
      };
      for (const op of operations) {
        const response = await call(op.id, params, bodies[op.id] ?? {}, () => dead.call);
        expectAnswer(op.id, response, 503);
        if (op.id !== 'health') expect(response.headers.get('retry-after')).toBe('5');
      }
      // A user's token cannot even be checked: 503 rather than a misleading 401.
      expectAnswer('listModels', await call('listModels', {}, { token: h.tokens.alice }, () => dead.call), 503, 'temporarily_unavailable');
    } finally {
      await dead.close();
      await pool.end();
      await connection.close();
    }
  });
});

describe('protection', () => {
  it('sets security headers and forbids caching on every answer', async () => {
    for (const response of [await call('listModels'), await call('getModel', { model_key: 'svc-alice-20200101-000000-zzzz' }), await h.call('GET', '/api/v2/docs/', { token: null })]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('limits each token per minute with 429, on every operation, leaving other tokens alone', async () => {
    const config = structuredClone(h.stack.config);
    config.api.rate_limit_per_minute = 3;
    const limited = await serve(createApp({ config, pool: h.stack.pool, temporal: h.stack.client, adminToken: h.tokens.admin }), () => h.tokens.admin);
    try {
      const params = { model_key: 'svc-alice-20200101-000000-zzzz', user_id: 'alice', token_id: 'tok_x' };
      for (let i = 0; i < 3; i++) expect((await call('listTokens', params, {}, () => limited.call)).status).toBe(200);
      for (const op of operations.filter((o) => o.id !== 'health')) {
        const response = await call(op.id, params, op.id === 'createModel' ? { body: spec('limited') } : {}, () => limited.call);
        expectAnswer(op.id, response, 429, 'rate_limited');
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Another token has its own budget; nothing the limited requests asked for happened.
      expect((await call('listModels', {}, { token: h.tokens.bob }, () => limited.call)).status).toBe(200);
      expect(modelListSchema.parse((await call('listModels')).body).items.map((m) => m.model_id_suffix)).not.toContain('limited');
    } finally {
      await limited.close();
    }
  });
});

describe('coverage of the document', () => {
  it('exercised every documented status of every operation', () => {
    const missing = operations.flatMap((o) => o.statuses.filter((s) => !exercised.get(o.id)?.has(s)).map((s) => `${o.method} ${o.path} ${s}`));
    expect(missing).toEqual([]);
  });
});
