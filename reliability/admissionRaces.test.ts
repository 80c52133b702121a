import { errorBodySchema, modelDetailSchema, requestAckSchema } from '../src/api/contract/responseSchemas';
import { issueToken, ensureUser } from '../src/db/users';
import { startApiHarness } from '../test/support/apiHarness';
import { eventually } from '../test/support/stack';
import { atScale, mustBeZero, recordFigures } from './support/figures';

/**
 * Admission under load: fifty requests at once from five users, each with a quota, against a
 * cluster of 10 GPUs (the Ray double's one node). Whatever order they land in, the GPUs held never
 * exceed the cluster's, no user ends over their quota, and every request is answered with its
 * fate: accepted (and RUNNING, or QUEUED with a reason and a place), or refused with a reason.
 */
const ROUNDS = atScale(1, 4);
const USERS = ['ra', 'rb', 'rc', 'rd', 're'];
const PER_USER = 10;
const CLUSTER_GPUS = 10;
const QUOTA = { max_gpus: 4, max_models: 3 };

let h: Awaited<ReturnType<typeof startApiHarness>>;
/** Each user found over quota, with the models behind the usage. */
const overQuota: string[] = [];
const tokens: Record<string, string> = {};
const tally = { requests: 0, accepted: 0, refusedQuota: 0, refusedWithoutReason: 0, serverErrors: 0, queuedSeen: 0, queuedWithoutReason: 0, peakHeld: 0, overCluster: 0, usersOverQuota: 0 };

beforeAll(async () => {
  h = await startApiHarness({ rateLimitPerMinute: 0, readinessTimeoutS: 60 });
  h.ray.nodes = [{ gpus: CLUSTER_GPUS, acceleratorType: 'H20' }];
  for (const user of USERS) {
    await ensureUser(h.stack.pool, user);
    tokens[user] = (await issueToken(h.stack.pool, user)).token;
    const set = await h.call('PUT', `/api/v2/users/${user}/quota`, { body: JSON.stringify(QUOTA), type: 'application/json', token: h.tokens.admin });
    expect(set.status).toBe(200);
  }
});
afterAll(async () => {
  recordFigures('admission_races', `Admission: ${USERS.length * PER_USER} concurrent requests from ${USERS.length} users (quota ${QUOTA.max_gpus} GPUs, ${QUOTA.max_models} models each) on a cluster of ${CLUSTER_GPUS} GPUs`, [
    { name: 'rounds', value: ROUNDS },
    { name: 'requests', value: tally.requests },
    { name: 'accepted', value: tally.accepted },
    { name: 'refused 403 quota_exceeded', value: tally.refusedQuota },
    { name: 'accepted requests seen waiting in line', value: tally.queuedSeen },
    { name: 'GPUs held at the peak (of the cluster)', value: `${tally.peakHeld} of ${CLUSTER_GPUS}` },
    mustBeZero('samples with more GPUs held than the cluster has', tally.overCluster),
    mustBeZero('users over their quota', tally.usersOverQuota),
    mustBeZero('refusals without a reason', tally.refusedWithoutReason),
    mustBeZero('queued models without a reason or place', tally.queuedWithoutReason),
    mustBeZero('server errors', tally.serverErrors),
  ]);
  await h?.close();
});

async function heldGpus(): Promise<number> {
  const result = await h.stack.pool.query<{ held: string | null }>('SELECT sum(held) AS held FROM admissions');
  return Number(result.rows[0]?.held ?? 0);
}

describe('admission races', () => {
  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))('round %i: fifty requests at once never over-commit the cluster or a quota', async (round) => {
    // Sample the GPUs held all along.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const held = await heldGpus();
        tally.peakHeld = Math.max(tally.peakHeld, held);
        if (held > CLUSTER_GPUS) tally.overCluster += 1;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const requests = USERS.flatMap((user) =>
      Array.from({ length: PER_USER }, (_, i) => ({ user, body: JSON.stringify({ model_id: `r${round}-m${i % 5}`, model_source: '/private/hf/demo/tiny-chat', num_replicas: 1 + (i % 2) }) })),
    );
    const answers = await Promise.all(
      requests.map(async (r) => ({ ...r, response: await h.call('POST', '/api/v2/serve/models', { body: r.body, type: 'application/json', token: tokens[r.user] as string }) })),
    );
    const accepted = new Map<string, string>(); // model_key -> user
    for (const { user, response } of answers) {
      tally.requests += 1;
      if (response.status >= 500) tally.serverErrors += 1;
      else if (response.status === 202) {
        tally.accepted += 1;
        accepted.set(requestAckSchema.parse(response.body).model_key, user);
      } else {
        const error = errorBodySchema.safeParse(response.body);
        if (response.status === 403 && error.success && error.data.error.code === 'quota_exceeded') tally.refusedQuota += 1;
        if (!error.success || error.data.error.message.length < 20) tally.refusedWithoutReason += 1;
      }
    }
    // Every accepted model ends RUNNING or waits in line with a reason and a place.
    await eventually(
      async () => {
        const states = await Promise.all([...accepted.keys()].map(async (key) => modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`, { token: tokens[accepted.get(key) as string] as string })).body).model));
        return states.every((m) => m.state === 'RUNNING' || (m.state === 'QUEUED' && m.admission !== null));
      },
      60_000,
      'every accepted model RUNNING or in line',
    );
    for (const [key, user] of accepted) {
      const model = modelDetailSchema.parse((await h.call('GET', `/api/v2/serve/models/${key}`, { token: tokens[user] as string })).body).model;
      if (model.state === 'QUEUED') {
        tally.queuedSeen += 1;
        if (!model.admission || !/waiting for \d+ H20 GPUs? \(\d+ free/.test(model.admission.reason) || model.admission.position < 1) tally.queuedWithoutReason += 1;
      }
    }
    for (const user of USERS) {
      const quota = (await h.call('GET', `/api/v2/users/${user}/quota`, { token: h.tokens.admin })).body as { usage: { gpus: number; models: number } };
      if (quota.usage.gpus > QUOTA.max_gpus || quota.usage.models > QUOTA.max_models) {
        tally.usersOverQuota += 1;
        // Which models made the usage, so a failure says how the quota was passed.
        const models = await h.stack.pool.query<{ model_key: string; model_id_suffix: string; state: string; replicas: string; created_at: Date; updated_at: Date }>(
          `SELECT model_key, model_id_suffix, state, spec->>'num_replicas' AS replicas, created_at, updated_at FROM models WHERE user_id = $1 AND deleted_at IS NULL AND state <> 'DELETED' ORDER BY created_at`,
          [user],
        );
        overQuota.push(`round ${round}: ${user} uses ${JSON.stringify(quota.usage)}: ${models.rows.map((m) => `${m.model_id_suffix} ${m.state} x${m.replicas} (${m.model_key}, created ${m.created_at.toISOString()}, updated ${m.updated_at.toISOString()})`).join('; ')}`);
      }
    }
    // Deleting everything lets the line drain: every model ends DELETED and nothing stays held.
    await Promise.all([...accepted].map(([key, user]) => h.call('DELETE', `/api/v2/serve/models/${key}`, { token: tokens[user] as string })));
    await eventually(async () => (await heldGpus()) === 0 && (await h.stack.pool.query('SELECT 1 FROM admissions')).rowCount === 0, 60_000, 'every GPU given back');
    sampling = false;
    await sampler;
    expect(tally.overCluster).toBe(0);
    expect(overQuota).toEqual([]);
    expect(tally.serverErrors).toBe(0);
    expect(tally.queuedWithoutReason).toBe(0);
  });
});
