import fc from 'fast-check';
import YAML from 'yaml';
import { errorBodySchema, modelDetailSchema, requestAckSchema } from '../src/api/contract/responseSchemas';
import type { ApiResponse, CallOptions } from '../test/support/httpClient';
import { startApiHarness } from '../test/support/apiHarness';
import { atScale, mustBeZero, recordFigures } from './support/figures';

/**
 * Generated specs, paths, headers and bodies thrown at the live API (real Temporal and Postgres,
 * the Ray double behind the worker). Nothing may answer 5xx or crash, nothing outside the allowed
 * roots may be accepted, and every refusal must be a well-formed error body.
 */
const RUNS = atScale(300, 1_000); // per property; five properties
let h: Awaited<ReturnType<typeof startApiHarness>>;
const tally = { requests: 0, serverErrors: 0, malformedErrors: 0, acceptedOutsideRoots: 0, accepted: 0, refused: 0 };
const serverErrorSamples: string[] = [];

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0 });
});
afterAll(async () => {
  recordFigures('adversarial_input', 'Adversarial input (fast-check)', [
    { name: 'requests', value: tally.requests },
    { name: 'accepted', value: tally.accepted },
    { name: 'refused with 4xx', value: tally.refused },
    mustBeZero('server errors (5xx)', tally.serverErrors),
    mustBeZero('malformed error bodies', tally.malformedErrors),
    mustBeZero('accepted paths outside the allowed roots', tally.acceptedOutsideRoots),
  ]);
  await h?.close();
});

async function send(method: string, path: string, options: CallOptions): Promise<ApiResponse> {
  const response = await h.call(method, path, options);
  tally.requests += 1;
  if (response.status >= 500) {
    tally.serverErrors += 1;
    if (serverErrorSamples.length < 5) serverErrorSamples.push(`${method} ${path} ${JSON.stringify(options).slice(0, 300)} -> ${response.status} ${response.text.slice(0, 200)}`);
  } else if (response.status >= 400) {
    tally.refused += 1;
    if (!errorBodySchema.safeParse(response.body).success) tally.malformedErrors += 1;
  } else tally.accepted += 1;
  return response;
}

const insideRoots = (path: string) => path.startsWith('/private/hf/') || path.startsWith('/private/users/alice/');

async function checkAcceptedSource(response: ApiResponse) {
  if (response.status !== 202) return;
  const ack = requestAckSchema.parse(response.body);
  const detail = modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${ack.model_key}`)).body);
  if (!insideRoots(detail.model.model_source)) tally.acceptedOutsideRoots += 1;
}

// Accepted specs reuse a few suffixes, so the fuzz upserts a handful of models instead of starting thousands.
const suffix = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('fz-a', 'fz-b', 'fz-c') }, { weight: 1, arbitrary: fc.string({ maxLength: 70, unit: 'binary' }) });
const pathSegment = fc.oneof(
  fc.constantFrom('..', '.', '', 'hf', 'users', 'alice', 'bob', 'private', 'common', 'datasets', '%2e%2e', '\uff0e\uff0e', '\\..', '\u0000', '~', '$HOME'),
  fc.string({ maxLength: 8, unit: 'binary' }),
);
// Repo ids: staged, unstaged, malformed, and tricks aimed at the cache layout (`--`, `..` in a revision, links out).
const repoId = fc.oneof(
  fc.constantFrom('argus-demo/tiny-chat', 'argus-demo/tiny-chat@main', 'Qwen/Qwen2.5-0.5B-Instruct', 'a--b/c', 'org/..', 'org/name@../../users', 'org/name@refs/../main', 'org/name@', '@x/y', 'a/b/c'),
  fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), fc.option(fc.string({ maxLength: 12 }))).map(([o, n, r]) => `${o}/${n}${r === null ? '' : `@${r}`}`),
);
const modelSource = fc.oneof(
  repoId,
  fc.tuple(fc.constantFrom('', '/', '$HOME', '$HOME/', '/private/', '/private/hf/', '$HOME/common/hf/', '/private/users/', '//', 'file:///private/hf/'), fc.array(pathSegment, { maxLength: 6 })).map(([s, p]) => s + p.join('/')),
  fc.string({ maxLength: 40, unit: 'binary' }),
);
const anyValue = fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double(), fc.string({ maxLength: 10 }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
const spec = fc.record(
  {
    model_id: fc.oneof(suffix, anyValue),
    model_source: fc.oneof({ weight: 4, arbitrary: modelSource }, { weight: 1, arbitrary: anyValue }),
    num_replicas: fc.oneof(fc.integer({ min: -2, max: 70 }), anyValue),
    gpus_per_replica: fc.oneof(fc.integer({ min: -1, max: 10 }), anyValue),
    engine_kwargs: fc.dictionary(fc.oneof(fc.constantFrom('max_model_len', 'trust_remote_code', 'seed', 'dtype', 'download_dir', 'standin_load_delay_s'), fc.string({ maxLength: 12 })), anyValue, { maxKeys: 3 }),
    readiness_timeout_s: fc.oneof(fc.integer({ min: 0, max: 30_000 }), anyValue),
    autoscaling: fc.oneof(
      fc.record(
        { min_replicas: fc.oneof(fc.integer({ min: -2, max: 70 }), anyValue), max_replicas: fc.oneof(fc.integer({ min: -2, max: 70 }), anyValue), target_ongoing_requests: anyValue, idle_timeout_s: anyValue, extra: anyValue },
        { requiredKeys: [] },
      ),
      anyValue,
    ),
    env: fc.oneof(
      fc.dictionary(fc.oneof(fc.constantFrom('RAY_X', 'CUDA_VISIBLE_DEVICES', 'ARGUS_MODEL_REVISION', 'PATH', 'OK_NAME', 'lower', '1BAD', ''), fc.string({ maxLength: 12, unit: 'binary' })), anyValue, { maxKeys: 3 }),
      anyValue,
    ),
    resources: fc.oneof(fc.record({ cpus_per_replica: anyValue, memory_gib_per_replica: anyValue, gpus: anyValue }, { requiredKeys: [] }), anyValue),
    accelerator_type: fc.oneof(fc.constantFrom('H20', 'A100', ''), anyValue),
    description: fc.oneof(fc.string({ maxLength: 1200, unit: 'binary' }), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

describe('adversarial input', () => {
  it('generated specs, as YAML and JSON: no 5xx, nothing outside the allowed roots accepted', async () => {
    await fc.assert(
      fc.asyncProperty(spec, fc.boolean(), async (document, asYaml) => {
        const body = asYaml ? YAML.stringify(document) : JSON.stringify(document);
        const response = await send('POST', '/api/v2/serve/models', { body, type: asYaml ? 'application/yaml' : 'application/json' });
        await checkAcceptedSource(response);
      }),
      { numRuns: RUNS },
    );
  });

  it('generated model_source paths: accepted only inside /private/hf or the caller\'s own directory', async () => {
    await fc.assert(
      fc.asyncProperty(modelSource, async (source) => {
        const response = await send('POST', '/api/v2/serve/models', { body: JSON.stringify({ model_id: 'fz-path', model_source: source }), type: 'application/json' });
        await checkAcceptedSource(response);
      }),
      { numRuns: RUNS },
    );
  });

  it('raw bodies of any bytes and media type: no 5xx', async () => {
    const mediaType = fc.oneof(fc.constantFrom('application/yaml', 'application/json', 'text/yaml', 'application/x-yaml', 'text/plain', 'application/json; charset=latin1', 'multipart/form-data'), fc.string({ maxLength: 30 }).filter((t) => /^[\x21-\x7e]+$/.test(t)));
    const rawBody = fc.oneof(
      fc.string({ maxLength: 400, unit: 'binary' }),
      fc.constantFrom('{', '[]', 'null', '"x"', '---\n...\n', '*a', '&a [*a]', '!!python/object:os.system ls', '{"__proto__": {"admin": true}}', 'model_id: x\nmodel_source: !!binary aGk=\n'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('POST', 'PATCH'), mediaType, rawBody, async (method, type, body) => {
        const path = method === 'POST' ? '/api/v2/serve/models' : '/api/v2/serve/models/svc-alice-20260101-000000-abcd';
        await send(method, path, { body, type });
      }),
      { numRuns: RUNS },
    );
  });

  it('generated Authorization and other headers: no 5xx, and nothing is served without a valid token', async () => {
    const header = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ maxLength: 600 }).map((t) => `Bearer ${t}`), fc.constantFrom('Bearer', 'Bearer ', 'bearer x', 'Basic YWxpY2U6eA==', `Bearer ${'a'.repeat(600)}`));
    await fc.assert(
      fc.asyncProperty(header, fc.string({ maxLength: 40 }), async (authorization, accept) => {
        const headers: Record<string, string> = { accept: accept.replace(/[^\x20-\x7e]/g, '') };
        const response = await send('GET', '/api/v2/serve/models', { token: null, headers: { ...headers, authorization: authorization.replace(/[^\x20-\x7e]/g, '') } });
        expect(response.status).not.toBe(200);
      }),
      { numRuns: RUNS },
    );
  });

  it('generated URL paths and methods under the API: no 5xx', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 20 }).map(encodeURIComponent), fc.constantFrom('%', '%zz', '%00', '..', '%2e%2e', 'svc-alice-20260101-000000-abcd', 'tokens', ''));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'), fc.constantFrom('/api/v2/serve/models/', '/api/v2/users/', '/api/v2/serve/', '/api/v2/'), fc.array(segment, { maxLength: 3 }), async (method, base, parts) => {
        await send(method, base + parts.join('/'), { token: fc.sample(fc.constantFrom(h.tokens.alice, h.tokens.admin), 1)[0] });
      }),
      { numRuns: RUNS },
    );
  });

  afterAll(() => {
    expect(serverErrorSamples).toEqual([]);
    expect(tally.malformedErrors).toBe(0);
    expect(tally.acceptedOutsideRoots).toBe(0);
  });
});
