import { modelDetailSchema, requestAckSchema, RequestAckBody } from '../src/api/contract/responseSchemas';
import { startApiHarness } from '../test/support/apiHarness';
import { eventually } from '../test/support/stack';
import { atScale, mustBeZero, recordFigures } from './support/figures';

/**
 * Fifty conflicting requests (POST, PATCH and, in every other round, DELETE) sent at once to one
 * model. Whatever order they land in, the model must end as the last accepted request says,
 * every accepted request must have exactly one event, and events must be strictly ordered.
 */
const ROUNDS = atScale(2, 6);
const REQUESTS = 50;
let h: Awaited<ReturnType<typeof startApiHarness>>;
const tally = { requests: 0, accepted: 0, refused409: 0, serverErrors: 0, lost: 0, duplicated: 0, wrongFinalState: 0, outOfOrder: 0 };

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0, readinessTimeoutS: 60 });
});
afterAll(async () => {
  recordFigures('races', `Races: ${REQUESTS} concurrent conflicting requests on one model`, [
    { name: 'rounds', value: ROUNDS },
    { name: 'requests', value: tally.requests },
    { name: 'accepted', value: tally.accepted },
    { name: 'refused 409 (model being deleted)', value: tally.refused409 },
    mustBeZero('server errors', tally.serverErrors),
    mustBeZero('accepted requests with no event (lost)', tally.lost),
    mustBeZero('requests recorded twice', tally.duplicated),
    mustBeZero('events out of order', tally.outOfOrder),
    mustBeZero('final state not the last accepted request', tally.wrongFinalState),
  ]);
  await h?.close();
});

const spec = (suffix: string, replicas: number, seed: number) =>
  JSON.stringify({ model_id: suffix, model_source: '/private/hf/demo/tiny-chat', num_replicas: replicas, engine_kwargs: { seed } });
const detailOf = async (key: string) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`)).body);

interface Sent {
  kind: 'POST' | 'PATCH' | 'DELETE';
  replicas: number;
  ack: RequestAckBody | null;
}

/** Strict order, one event per accepted request, and the end state the last accepted request asked for. */
async function checkModel(key: string, accepted: Sent[]) {
  const detail = await detailOf(key);
  const seqs = detail.events.map((e) => e.seq);
  if (seqs.some((seq, i) => seq !== i + 1)) tally.outOfOrder += 1;
  const requested = detail.events.filter((e) => e.event_type === 'DEPLOY_REQUESTED' || e.event_type === 'SCALE_REQUESTED').map((e) => Number(e.payload.revision));
  if (requested.some((rev, i) => i > 0 && rev <= (requested[i - 1] ?? 0))) tally.outOfOrder += 1;

  const changes = accepted.filter((s) => s.kind !== 'DELETE' && s.ack?.changed);
  const deletes = accepted.filter((s) => s.kind === 'DELETE' && s.ack?.changed);
  for (const change of changes) {
    const matching = requested.filter((rev) => rev === change.ack?.revision).length;
    if (matching === 0) tally.lost += 1;
    if (matching > 1) tally.duplicated += 1;
  }
  const deleteEvents = detail.events.filter((e) => e.event_type === 'DELETE_REQUESTED').length;
  if (deletes.length > 0 && deleteEvents === 0) tally.lost += 1;
  if (deleteEvents > 1 || deletes.length > 1) tally.duplicated += 1;
  // The model's workflow ran once: a second run would restart its events and revisions.
  if (detail.events.filter((e) => e.event_type === 'DELETED').length > 1) tally.duplicated += 1;

  if (deletes.length > 0) {
    // Nothing was accepted after the delete: every accepted change carries an earlier revision.
    const deletedAt = deletes[0]?.ack?.revision ?? 0;
    if (detail.model.state !== 'DELETED' || changes.some((c) => (c.ack?.revision ?? 0) > deletedAt)) tally.wrongFinalState += 1;
  } else {
    const last = changes.reduce<Sent | null>((a, b) => ((b.ack?.revision ?? 0) > (a?.ack?.revision ?? 0) ? b : a), null);
    if (detail.model.state !== 'RUNNING' || (last && detail.model.num_replicas !== last.replicas)) tally.wrongFinalState += 1;
  }
}

describe('races', () => {
  it.each(Array.from({ length: ROUNDS }, (_, i) => [i + 1, i % 2 === 1]))('round %i (with deletes: %s)', async (round, withDeletes) => {
    const suffix = `race-${round}`;
    const first = requestAckSchema.parse((await h.call('POST', '/api/v2/serve/models', { body: spec(suffix, 1, 0), type: 'application/json' })).body);
    const key = first.model_key;
    await eventually(async () => (await detailOf(key)).model.state === 'RUNNING', 60_000, 'the first revision to run');

    const plan: Array<Sent['kind']> = Array.from({ length: REQUESTS }, (_, i) => (withDeletes && i % 10 === 7 ? 'DELETE' : i % 2 === 0 ? 'POST' : 'PATCH'));
    const sent: Sent[] = await Promise.all(
      plan.map(async (kind, i) => {
        const replicas = 1 + (i % 4);
        const response =
          kind === 'POST'
            ? await h.call('POST', '/api/v2/serve/models', { body: spec(suffix, replicas, i + 1), type: 'application/json' })
            : kind === 'PATCH'
              ? await h.call('PATCH', `/api/v2/serve/models/${key}`, { body: JSON.stringify({ num_replicas: replicas }), type: 'application/json' })
              : await h.call('DELETE', `/api/v2/serve/models/${key}`);
        tally.requests += 1;
        if (response.status >= 500) tally.serverErrors += 1;
        if (response.status === 409) tally.refused409 += 1;
        const ack = response.status < 300 ? requestAckSchema.parse(response.body) : null;
        if (ack) tally.accepted += 1;
        return { kind, replicas, ack };
      }),
    );

    // A POST that lands after the delete has finished creates a new model (another key), as any
    // POST after DELETED does; it is checked like the first model.
    const ofKey = (k: string) => sent.filter((s) => s.ack?.model_key === k);
    const deletes = ofKey(key).filter((s) => s.kind === 'DELETE' && s.ack?.changed);
    const finalState = deletes.length > 0 ? 'DELETED' : 'RUNNING';
    await eventually(async () => (await detailOf(key)).model.state === finalState, 90_000, `${key} to end ${finalState}`);
    await checkModel(key, ofKey(key));
    const reborn = [...new Set(sent.map((s) => s.ack?.model_key).filter((k): k is string => !!k && k !== key))];
    if (reborn.length > 1) tally.duplicated += 1;
    for (const newKey of reborn) {
      await eventually(async () => (await detailOf(newKey)).model.state === 'RUNNING', 90_000, `${newKey} to run`);
      await checkModel(newKey, ofKey(newKey));
      await h.call('DELETE', `/api/v2/serve/models/${newKey}`);
      await eventually(async () => (await detailOf(newKey)).model.state === 'DELETED', 90_000, `${newKey} to be deleted`);
    }
    expect(tally).toMatchObject({ serverErrors: 0, lost: 0, duplicated: 0, outOfOrder: 0, wrongFinalState: 0 });
  });
});
