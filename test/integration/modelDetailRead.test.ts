import type { Pool } from 'pg';
import { loadConfig } from '../../src/config/config';
import { createPool } from '../../src/db/pool';
import { ensureUser } from '../../src/db/users';
import { getModel, getModelWithEvents, insertModel, listEvents, recordEvent } from '../../src/db/models';
import type { ServingSpec } from '../../src/domain/servingSpec';

/** The detail route's one-query read returns exactly what the model and events reads return. */
let pool: Pool;
const spec: ServingSpec = {
  model_id_suffix: 'detail-read',
  model_source: '/private/hf/demo/tiny-chat',
  num_replicas: 2,
  gpus_per_replica: 1,
  engine_kwargs: { max_model_len: 2048 },
  readiness_timeout_s: null,
};

beforeAll(async () => {
  pool = createPool(loadConfig().database.url);
  await ensureUser(pool, 'alice');
});
afterAll(() => pool.end());

describe('getModelWithEvents', () => {
  it('returns the row and its events, oldest first, as the separate reads do', async () => {
    const key = `svc-alice-20260101-000000-${Math.random().toString(36).slice(2, 6).padEnd(4, '0')}`;
    await insertModel(pool, { modelKey: key, userId: 'alice', suffix: `detail-read-${key.slice(-4)}`, prefix: 'alice-202601010000', spec, createdAt: new Date('2026-01-01T00:00:00Z') });
    expect(await getModelWithEvents(pool, key)).toEqual({ model: await getModel(pool, key), events: [] });

    const projection = { state: 'DEPLOYING' as const, revision: 1, spec, errorSummary: null };
    await recordEvent(pool, { modelKey: key, seq: 2, eventType: 'APPLY_STARTED', payload: { revision: 1 } }, projection);
    await recordEvent(pool, { modelKey: key, seq: 1, eventType: 'DEPLOY_REQUESTED', payload: { revision: 1, spec: { nested: [1, 'two', null] } } }, projection);
    const read = await getModelWithEvents(pool, key);
    expect(read).toEqual({ model: await getModel(pool, key), events: await listEvents(pool, key) });
    expect(read?.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(read?.events[0]?.createdAt).toBeInstanceOf(Date);
  });

  it('returns null for a model that does not exist', async () => {
    expect(await getModelWithEvents(pool, 'svc-alice-20260101-000000-none')).toBeNull();
  });
});
