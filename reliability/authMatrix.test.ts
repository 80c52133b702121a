import { randomBytes } from 'node:crypto';
import { buildOpenApiDocument } from '../src/api/contract/openapiDocument';
import { modelDetailSchema, modelListSchema, requestAckSchema, tokenIssuedSchema } from '../src/api/contract/responseSchemas';
import { eventually } from '../test/support/stack';
import { mustBeZero, recordFigures } from './support/figures';
import type { ServiceProcess } from '../test/support/serviceProcess';
import { startRealProcesses } from './support/realProcesses';

/**
 * Every operation of the OpenAPI document against every kind of caller that must be refused,
 * on the API and worker as real processes, then every line they logged searched for secrets.
 */
type Caller = 'no token' | 'malformed header' | 'revoked token' | "another user's token" | 'user on an admin endpoint';
const CALLERS: Caller[] = ['no token', 'malformed header', 'revoked token', "another user's token", 'user on an admin endpoint'];
const ADMIN_OPERATIONS = new Set(['serveStatus', 'createUser', 'issueToken', 'listTokens', 'revokeToken']);
const MODEL_OPERATIONS = new Set(['getModel', 'patchModel', 'deleteModel']);

/** The answer a refused caller must get, or null where the cell does not apply. */
function expected(operationId: string, caller: Caller): number | null {
  if (caller === 'no token' || caller === 'malformed header' || caller === 'revoked token') return 401;
  if (ADMIN_OPERATIONS.has(operationId)) return 403;
  if (caller === 'user on an admin endpoint') return null;
  return MODEL_OPERATIONS.has(operationId) ? 404 : null; // list and create act on the caller's own models
}

const admin = `reliability-admin-${randomBytes(16).toString('hex')}`;
const RATE_LIMIT = 100;
let processes: Awaited<ReturnType<typeof startRealProcesses>>;
let api: ServiceProcess;
let worker: ServiceProcess;
let base: string;

beforeAll(async () => {
  processes = await startRealProcesses({ adminToken: admin, env: { LOG_LEVEL: 'debug', ARGUS_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) } });
  ({ api, worker, base } = processes);
});
afterAll(async () => {
  await processes?.stop();
});

async function request(method: string, path: string, authorization: string | null, body?: unknown) {
  const headers: Record<string, string> = {};
  if (authorization !== null) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: await response.json().catch(() => null) };
}

describe('auth matrix on the real API and worker processes', () => {
  it('refuses every operation for every caller that must be refused, and no secret reaches a log line', async () => {
    const asAdmin = `Bearer ${admin}`;
    const tag = randomBytes(2).toString('hex');
    const [owner, other] = [`mx-owner-${tag}`, `mx-other-${tag}`];
    for (const user of [owner, other]) expect((await request('POST', '/api/v2/users', asAdmin, { user_id: user })).status).toBe(201);
    const issue = async (user: string) => tokenIssuedSchema.parse((await request('POST', `/api/v2/users/${user}/tokens`, asAdmin)).body);
    const ownerToken = await issue(owner);
    const otherToken = await issue(other);
    const revoked = await issue(owner);
    expect((await request('DELETE', `/api/v2/users/${owner}/tokens/${revoked.token_id}`, asAdmin)).status).toBe(200);
    const secrets = [admin, ownerToken.token, otherToken.token, revoked.token];

    const created = requestAckSchema.parse((await request('POST', '/api/v2/serve/models', `Bearer ${ownerToken.token}`, { model_id: 'matrix', model_source: '/private/hf/demo/tiny-chat' })).body);
    await eventually(async () => modelDetailSchema.parse((await request('GET', `/api/v2/serve/models/${created.model_key}`, `Bearer ${ownerToken.token}`)).body).model.state === 'RUNNING', 60_000, 'the model to run');

    const authorizationFor: Record<Caller, string | null> = {
      'no token': null,
      'malformed header': `Token ${ownerToken.token}`,
      'revoked token': `Bearer ${revoked.token}`,
      "another user's token": `Bearer ${otherToken.token}`,
      'user on an admin endpoint': `Bearer ${ownerToken.token}`,
    };
    const params: Record<string, string> = { model_key: created.model_key, user_id: owner, token_id: ownerToken.token_id };
    const bodies: Record<string, unknown> = { createModel: { model_id: 'intruder', model_source: '/private/hf/demo/tiny-chat' }, patchModel: { num_replicas: 3 }, createUser: { user_id: `mx-evil-${tag}` } };
    const document = buildOpenApiDocument();
    let cells = 0;
    let missingHeaders = 0;
    const wrong: string[] = [];
    for (const [template, item] of Object.entries(document.paths ?? {})) {
      for (const method of ['get', 'post', 'patch', 'delete'] as const) {
        const operationId = item?.[method]?.operationId;
        if (!operationId || operationId === 'health') continue;
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? name);
        for (const caller of CALLERS) {
          const want = expected(operationId, caller);
          if (want === null) continue;
          cells += 1;
          const answer = await request(method.toUpperCase(), path, authorizationFor[caller], bodies[operationId]);
          if (answer.status !== want) wrong.push(`${caller} ${method.toUpperCase()} ${path}: ${answer.status}, expected ${want}`);
          if (answer.headers.get('x-content-type-options') !== 'nosniff' || !answer.headers.get('content-security-policy')) missingHeaders += 1;
        }
      }
    }
    // Nothing the refused callers asked for happened.
    const after = modelDetailSchema.parse((await request('GET', `/api/v2/serve/models/${created.model_key}`, `Bearer ${ownerToken.token}`)).body);
    expect(after.model).toMatchObject({ state: 'RUNNING', num_replicas: 1 });
    const otherList = modelListSchema.parse((await request('GET', '/api/v2/serve/models', `Bearer ${otherToken.token}`)).body);
    expect(otherList.items.map((m) => m.model_key)).not.toContain(created.model_key);

    // A burst over the per-token limit is answered 429; the other token is unaffected.
    const burst = await Promise.all(Array.from({ length: RATE_LIMIT + 20 }, () => request('GET', '/api/v2/serve/models', `Bearer ${ownerToken.token}`)));
    const limited = burst.filter((r) => r.status === 429);
    expect(limited.every((r) => Number(r.headers.get('retry-after')) > 0)).toBe(true);
    expect((await request('GET', '/api/v2/serve/models', `Bearer ${otherToken.token}`)).status).toBe(200);

    const logLines = [...api.lines, ...worker.lines];
    const leaking = logLines.filter((line) => secrets.some((secret) => line.includes(secret)));
    const redactedRequests = api.lines.filter((line) => line.includes('"authorization":"[redacted]"')).length;
    recordFigures('auth_matrix', 'Auth matrix and secrets in logs', [
      { name: 'operation x caller cells', value: cells },
      mustBeZero('wrong answers', wrong.length),
      mustBeZero('answers without security headers', missingHeaders),
      { name: `429 answers in a burst of ${RATE_LIMIT + 20} from one token`, value: limited.length, target: '>= 20', ok: limited.length >= 20 },
      { name: 'log lines searched (API and worker)', value: logLines.length },
      { name: 'request log lines with Authorization redacted', value: redactedRequests },
      mustBeZero('log lines containing a token', leaking.length),
    ]);
    expect(wrong).toEqual([]);
    expect(missingHeaders).toBe(0);
    expect(limited.length).toBeGreaterThanOrEqual(20);
    expect(redactedRequests).toBeGreaterThan(cells / 2);
    expect(leaking).toEqual([]);
  });
});
