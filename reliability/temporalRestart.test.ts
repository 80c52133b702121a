import { modelDetailSchema, requestAckSchema } from '../src/api/contract/responseSchemas';
import { startApiHarness } from '../test/support/apiHarness';
import { eventually } from '../test/support/stack';
import { eventLogProblems } from './support/eventLog';
import { atScale, mustBeZero, recordFigures } from './support/figures';
import { stackAction } from './support/stackControl';

/**
 * The Temporal dev server (persistent database file) is stopped in the middle of rollouts and
 * started again. Every rollout must complete, each step recorded once; while it is down the API
 * answers 503 rather than accepting what it cannot hand to a workflow.
 */
const OUTAGE_MS = atScale(3_000, 20_000);
const MODELS = atScale(4, 10);
let h: Awaited<ReturnType<typeof startApiHarness>>;

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0, readinessTimeoutS: 600 });
});
afterAll(async () => {
  await stackAction('start-temporal').catch(() => undefined);
  await h?.close();
});

const post = (suffix: string) => h.call('POST', '/api/v2/serve/models', { body: JSON.stringify({ model_id: suffix, model_source: '/private/hf/demo/tiny-chat' }), type: 'application/json' });
const detailOf = async (key: string) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`)).body);

describe('Temporal restart in the middle of rollouts', () => {
  it('completes every rollout, each step once', async () => {
    // Long enough that every rollout is still waiting for readiness when Temporal goes away.
    h.ray.faults.startDelayMs = 20_000;
    const accepted: string[] = [];
    for (let i = 0; i < MODELS; i++) accepted.push(requestAckSchema.parse((await post(`tr-${i}`)).body).model_key);
    await eventually(async () => (await Promise.all(accepted.map(detailOf))).every((d) => d.events.some((e) => e.event_type === 'APPLY_SUCCEEDED')), 60_000, 'rollouts to be under way');

    await stackAction('stop-temporal');
    const stoppedAt = Date.now();
    const during = await post('tr-during'); // cannot reach a workflow: must not be accepted
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    await stackAction('start-temporal');
    const back = Date.now();

    const notRunning = await eventually(async () => {
      const states = await Promise.all(accepted.map(async (key) => (await detailOf(key)).model.state));
      return states.every((s) => s === 'RUNNING') ? [] : null;
    }, 180_000, 'every rollout to complete').catch(async () => (await Promise.all(accepted.map(async (key) => [key, (await detailOf(key)).model.state]))).filter(([, s]) => s !== 'RUNNING'));
    const completedS = (Date.now() - back) / 1000;
    const afterwards = await post('tr-after');
    const problems = (await Promise.all(accepted.map(async (key) => eventLogProblems(await detailOf(key))))).flat();

    recordFigures('temporal_restart', 'Temporal dev server restart in the middle of rollouts', [
      { name: 'rollouts in flight', value: MODELS },
      { name: 'outage (s)', value: OUTAGE_MS / 1000 },
      { name: 'POST while Temporal was down answered', value: during.status, target: '503', ok: during.status === 503 },
      mustBeZero('rollouts that did not complete', notRunning.length),
      { name: 'all RUNNING after Temporal returned (s)', value: Number(completedS.toFixed(1)) },
      mustBeZero('event log problems (gaps, steps recorded twice)', problems.length),
      { name: 'POST after the restart answered', value: afterwards.status, target: '202', ok: afterwards.status === 202 },
    ]);
    expect(during.status).toBe(503);
    expect(notRunning).toEqual([]);
    expect(problems).toEqual([]);
    expect(afterwards.status).toBe(202);
  }, 10 * 60_000);
});
