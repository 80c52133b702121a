import { randomBytes } from 'node:crypto';
import { modelListSchema, requestAckSchema, tokenIssuedSchema } from '../src/api/contract/responseSchemas';
import { atScale, Figure, mustBeZero, recordFigures } from './support/figures';
import type { ServiceProcess } from '../test/support/serviceProcess';
import { startRealProcesses } from './support/realProcesses';

/**
 * Mixed traffic (create, upsert, scale, read, delete) from several clients at once against the
 * API and worker as real processes, for a bounded time. Reports errors and how the resident
 * memory of each process grew after a warm-up.
 */
const DURATION_MS = atScale(20_000, 600_000);
const WARMUP_MS = atScale(5_000, 60_000);
const CLIENTS = 4;
const SUFFIXES = ['soak-a', 'soak-b', 'soak-c', 'soak-d', 'soak-e', 'soak-f'];

const admin = `soak-admin-${randomBytes(16).toString('hex')}`;
let processes: Awaited<ReturnType<typeof startRealProcesses>>;
let api: ServiceProcess;
let worker: ServiceProcess;
let base: string;

beforeAll(async () => {
  // info: the processes announce readiness at that level.
  processes = await startRealProcesses({ adminToken: admin, env: { ARGUS_RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' } });
  processes.ray.faults.startDelayMs = 500;
  ({ api, worker, base } = processes);
});
afterAll(async () => {
  await processes?.stop();
});

describe('soak', () => {
  it('serves mixed traffic without errors or runaway memory', async () => {
    const user = `soak-${randomBytes(2).toString('hex')}`;
    const json = { 'content-type': 'application/json' };
    await fetch(`${base}/api/v2/users`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, ...json }, body: JSON.stringify({ user_id: user }) });
    const token = tokenIssuedSchema.parse(await (await fetch(`${base}/api/v2/users/${user}/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } })).json()).token;
    const auth = { authorization: `Bearer ${token}` };

    const counts = { requests: 0, serverErrors: 0, unexpected: 0 };
    const samples: string[] = [];
    const expectStatus = async (response: Response, allowed: number[]) => {
      counts.requests += 1;
      if (response.status >= 500) counts.serverErrors += 1;
      else if (!allowed.includes(response.status)) counts.unexpected += 1;
      if (!allowed.includes(response.status) && samples.length < 5) samples.push(`${response.status} ${(await response.text()).slice(0, 200)}`);
      return response;
    };
    const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)] as T;
    const keyOf = async (suffix: string) => {
      const list = modelListSchema.parse(await (await expectStatus(await fetch(`${base}/api/v2/serve/models`, { headers: auth }), [200])).json());
      return list.items.find((m) => m.model_id_suffix === suffix)?.model_key;
    };

    const started = Date.now();
    let rssAfterWarmup: { api: number; worker: number } | null = null;
    const client = async () => {
      while (Date.now() - started < DURATION_MS) {
        if (!rssAfterWarmup && Date.now() - started >= WARMUP_MS) rssAfterWarmup = { api: api.rssMiB(), worker: worker.rssMiB() };
        const suffix = pick(SUFFIXES);
        const roll = Math.random();
        if (roll < 0.3) {
          const body = JSON.stringify({ model_id: suffix, model_source: '/private/hf/demo/tiny-chat', num_replicas: 1 + Math.floor(Math.random() * 3) });
          const response = await expectStatus(await fetch(`${base}/api/v2/serve/models`, { method: 'POST', headers: { ...auth, ...json }, body }), [202, 409]);
          if (response.status === 202) requestAckSchema.parse(await response.json());
        } else if (roll < 0.5) {
          const key = await keyOf(suffix);
          if (key) await expectStatus(await fetch(`${base}/api/v2/serve/models/${key}`, { method: 'PATCH', headers: { ...auth, ...json }, body: JSON.stringify({ num_replicas: 1 + Math.floor(Math.random() * 3) }) }), [200, 409]);
        } else if (roll < 0.55) {
          const key = await keyOf(suffix);
          if (key) await expectStatus(await fetch(`${base}/api/v2/serve/models/${key}`, { method: 'DELETE', headers: auth }), [200]);
        } else {
          const key = await keyOf(suffix);
          if (key) await expectStatus(await fetch(`${base}/api/v2/serve/models/${key}`, { headers: auth }), [200]);
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const warm = rssAfterWarmup ?? { api: api.rssMiB(), worker: worker.rssMiB() };
    const end = { api: api.rssMiB(), worker: worker.rssMiB() };
    const growth = (name: 'api' | 'worker'): Figure => {
      const mib = end[name] - warm[name];
      return { name: `${name} RSS growth after warm-up (MiB; ${warm[name].toFixed(0)} -> ${end[name].toFixed(0)})`, value: Number(mib.toFixed(1)), target: '<= 100', ok: mib <= 100 };
    };
    recordFigures('soak', 'Soak: mixed traffic', [
      { name: 'duration (s)', value: DURATION_MS / 1000 },
      { name: 'concurrent clients', value: CLIENTS },
      { name: 'requests', value: counts.requests },
      { name: 'requests per second', value: Number((counts.requests / (DURATION_MS / 1000)).toFixed(1)) },
      mustBeZero('server errors', counts.serverErrors),
      mustBeZero('unexpected answers', counts.unexpected),
      growth('api'),
      growth('worker'),
    ]);
    expect(samples).toEqual([]);
  }, DURATION_MS + 5 * 60_000);
});
