import { modelDetailSchema, requestAckSchema } from '../src/api/contract/responseSchemas';
import { workflowIdFor } from '../src/workflows/searchAttributes';
import { startApiHarness } from '../test/support/apiHarness';
import { eventually } from '../test/support/stack';
import { atScale, Figure, mustBeZero, recordFigures } from './support/figures';

/**
 * The Ray dashboard goes away for a minute in the middle of a deploy: once from the start (the
 * model cannot even be admitted: Ray's nodes are unknown), once while readiness is being watched.
 * The model must stay on its way (QUEUED while its admission is retried, DEPLOYING once placed),
 * say why (in its detail and in the Temporal UI), and reach RUNNING once Ray is back.
 */
const OUTAGE_MS = atScale(8_000, 60_000);
const UNREACHABLE = /unreachable|503|restarting|not reachable/i;
let h: Awaited<ReturnType<typeof startApiHarness>>;
const figures: Figure[] = [{ name: 'outage length (s)', value: OUTAGE_MS / 1000 }];

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0, readinessTimeoutS: 900 });
});
afterAll(async () => {
  recordFigures('ray_outage', 'Ray dashboard unreachable during a deploy', figures);
  await h?.close();
});

const detailOf = async (key: string) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`)).body);

/** What an operator sees in the Temporal UI: the workflow's current details and its pending activities' last failures. */
async function temporalView(key: string): Promise<string> {
  const handle = h.stack.client.workflow.getHandle(workflowIdFor(key));
  const metadata = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
  const description = await handle.describe();
  const pending = (description.raw.pendingActivities ?? []).map((a) => `${a.lastFailure?.message ?? ''} ${JSON.stringify(a.heartbeatDetails ?? '')}`);
  return [metadata.currentDetails ?? '', ...pending].join('\n');
}

/** Holds the outage, checking every second that the model stays on its way (QUEUED or DEPLOYING: never FAILED, never lost). */
async function holdOutage(key: string): Promise<number> {
  let notDeploying = 0;
  const until = Date.now() + OUTAGE_MS;
  while (Date.now() < until) {
    if (!['QUEUED', 'DEPLOYING'].includes((await detailOf(key)).model.state)) notDeploying += 1;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return notDeploying;
}

describe('Ray dashboard outage', () => {
  it.each([
    ['from the start of the deploy', 'apply'],
    ['while readiness is watched', 'readiness'],
  ])('%s: stays on its way with the reason shown, then converges', async (_name, phase) => {
    h.ray.faults.startDelayMs = 1_000;
    if (phase === 'apply') h.ray.faults.dashboardDown = true;
    const key = requestAckSchema.parse((await h.call('POST', '/api/v2/serve/models', { body: JSON.stringify({ model_id: `outage-${phase}`, model_source: '/private/hf/demo/tiny-chat' }), type: 'application/json' })).body).model_key;
    if (phase === 'readiness') {
      await eventually(async () => (await detailOf(key)).events.some((e) => e.event_type === 'APPLY_SUCCEEDED'), 30_000, 'the config to be applied');
      h.ray.faults.dashboardDown = true;
    }
    let notDeploying: number;
    let detail;
    let operatorView: string;
    try {
      notDeploying = await holdOutage(key);
      detail = await detailOf(key);
      operatorView = await temporalView(key);
    } finally {
      h.ray.faults.dashboardDown = false;
    }
    const back = Date.now();
    await eventually(async () => (await detailOf(key)).model.state === 'RUNNING', 120_000, `${key} to converge`);
    const convergedS = (Date.now() - back) / 1000;

    const inDetail = UNREACHABLE.test(detail.serve_status.message ?? '') || detail.events.some((e) => UNREACHABLE.test(JSON.stringify(e.payload)));
    const inTemporal = UNREACHABLE.test(operatorView);
    figures.push(
      mustBeZero(`${phase}: checks neither QUEUED nor DEPLOYING during the outage`, notDeploying),
      { name: `${phase}: reason shown in the model detail`, value: String(inDetail), target: 'true', ok: inDetail },
      { name: `${phase}: reason shown in the Temporal UI`, value: String(inTemporal), target: 'true', ok: inTemporal },
      { name: `${phase}: RUNNING after Ray returned (s)`, value: Number(convergedS.toFixed(1)), target: '<= 35', ok: convergedS <= 35 },
    );
    expect({ notDeploying, inDetail, inTemporal }).toEqual({ notDeploying: 0, inDetail: true, inTemporal: true });
    expect(convergedS).toBeLessThanOrEqual(35);
  });
});
