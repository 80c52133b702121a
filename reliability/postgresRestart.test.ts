import { errorBodySchema, modelDetailSchema, requestAckSchema } from '../src/api/contract/responseSchemas';
import { startApiHarness } from '../test/support/apiHarness';
import { eventually } from '../test/support/stack';
import { eventLogProblems } from './support/eventLog';
import { atScale, mustBeZero, recordFigures } from './support/figures';
import { stackAction } from './support/stackControl';

/**
 * Postgres stops in the middle of rollouts and comes back. While it is down the API must answer
 * a clear 503 (never a 500, never a false 202); afterwards it accepts again, and every request
 * accepted before the outage completes, each step recorded once.
 */
const OUTAGE_MS = atScale(5_000, 30_000);
const MODELS = atScale(4, 10);
let h: Awaited<ReturnType<typeof startApiHarness>>;

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0, readinessTimeoutS: 600 });
});
afterAll(async () => {
  await stackAction('start-postgres').catch(() => undefined);
  await h?.close();
});

const post = (suffix: string) => h.call('POST', '/api/v2/serve/models', { body: JSON.stringify({ model_id: suffix, model_source: '/private/hf/demo/tiny-chat' }), type: 'application/json' });
const detailOf = async (key: string) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`)).body);

describe('Postgres restart in the middle of rollouts', () => {
  it('answers 503 while it is down, accepts again after, and completes everything accepted before', async () => {
    h.ray.faults.startDelayMs = 2_000;
    const accepted: string[] = [];
    for (let i = 0; i < MODELS; i++) accepted.push(requestAckSchema.parse((await post(`pg-${i}`)).body).model_key);

    await stackAction('stop-postgres');
    const during = { answers: 0, clear503: 0, other: [] as string[] };
    const until = Date.now() + OUTAGE_MS;
    while (Date.now() < until) {
      for (const response of [await post('pg-during'), await h.call('GET', '/api/v2/serve/models'), await h.call('GET', `/api/v2/serve/models/${accepted[0]}`)]) {
        during.answers += 1;
        const body = errorBodySchema.safeParse(response.body);
        if (response.status === 503 && body.success && body.data.error.code === 'temporarily_unavailable' && response.headers.get('retry-after')) during.clear503 += 1;
        else during.other.push(`${response.status} ${response.text.slice(0, 120)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await stackAction('start-postgres');
    const back = Date.now();
    const after = await eventually(async () => {
      const response = await post('pg-after');
      return response.status === 202 && requestAckSchema.parse(response.body);
    }, 60_000, 'the API to accept again');
    const acceptsAgainS = (Date.now() - back) / 1000;

    const all = [...accepted, after.model_key];
    const notRunning = await eventually(async () => {
      const states = await Promise.all(all.map(async (key) => (await detailOf(key)).model.state));
      return states.every((s) => s === 'RUNNING') ? [] : null;
    }, 120_000, 'every model to run').catch(async () => (await Promise.all(all.map(async (key) => [key, (await detailOf(key)).model.state]))).filter(([, s]) => s !== 'RUNNING'));
    const completedS = (Date.now() - back) / 1000;
    const problems = (await Promise.all(all.map(async (key) => eventLogProblems(await detailOf(key))))).flat();

    recordFigures('postgres_restart', 'Postgres restart in the middle of rollouts', [
      { name: 'rollouts in flight', value: MODELS },
      { name: 'outage (s)', value: OUTAGE_MS / 1000 },
      { name: 'requests during the outage', value: during.answers },
      mustBeZero('answers during the outage other than a clear 503', during.other.length),
      { name: 'accepting again after Postgres returned (s)', value: Number(acceptsAgainS.toFixed(1)) },
      mustBeZero('accepted requests that did not complete', notRunning.length),
      { name: 'all RUNNING after Postgres returned (s)', value: Number(completedS.toFixed(1)) },
      mustBeZero('event log problems (gaps, steps recorded twice)', problems.length),
    ]);
    expect(during.other).toEqual([]);
    expect(notRunning).toEqual([]);
    expect(problems).toEqual([]);
  }, 10 * 60_000);
});
