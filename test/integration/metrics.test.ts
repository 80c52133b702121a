import { createApp } from '../../src/api/app';
import { getModel, listEvents } from '../../src/db/models';
import { issueToken } from '../../src/db/users';
import { workerMetricsRegistry } from '../../src/observability/metrics/workerMetrics';
import { serve } from '../support/httpClient';
import { testSpec as spec } from '../support/servingSpecs';
import { useDoubleStack } from '../support/doubleStack';
import { eventually } from '../support/stack';

/**
 * The metrics move as users' models do: scraped after a rollout, a failure and a drift (worker),
 * and after API calls (API), against real Temporal and Postgres with the Ray double.
 */
const env = useDoubleStack({ reconcile: { interval_s: 0.5, replica_grace_s: 1, ray_recovery_wait_s: 4, remind_after_s: 5 } });

type Labels = Record<string, string>;
interface Scraped {
  value(name: string, labels?: Labels): number;
}

/** Parses the Prometheus text format (enough of it for counters, gauges and histogram series). */
function parse(text: string): Scraped {
  const samples = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1] as string, m[2] as string]));
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
  return {
    value(name, labels = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0);
    },
  };
}

const scrapeWorker = async () => parse(await workerMetricsRegistry(env.stack.pool, env.stack.config.serving.cluster_id).metrics());
const reaches = (key: string, state: string) => eventually(async () => (await getModel(env.stack.pool, key))?.state === state, 30_000, `${key} to reach ${state}`);

describe('metrics', () => {
  it('count rollouts by kind and outcome with their durations, rollbacks-free failures, drifts and heals, PUTs and Ray calls', async () => {
    const before = await scrapeWorker();
    const ok = await env.commands.deploy('alice', spec('metered.ok'));
    await reaches(ok.model_key, 'RUNNING');
    env.ray.faults.failingSources.add('demo/broken-model');
    const bad = await env.commands.deploy('alice', spec('metered.bad', { model_source: '/private/hf/demo/broken-model' }));
    await reaches(bad.model_key, 'FAILED');
    // A drift: the app removed behind the product's back, then applied again.
    const app = env.ray.appNames().find((name) => name.includes(`--${ok.model_key}--`)) as string;
    env.ray.removeApp(app);
    await eventually(async () => (await listEvents(env.stack.pool, ok.model_key)).some((e) => e.eventType === 'HEALED'), 30_000, 'the drift healed');

    const after = await scrapeWorker();
    const moved = (name: string, labels?: Labels) => after.value(name, labels) - before.value(name, labels);
    expect(moved('argus_rollouts_total', { kind: 'deploy', outcome: 'succeeded' })).toBe(1);
    expect(moved('argus_rollouts_total', { kind: 'deploy', outcome: 'failed' })).toBe(1);
    expect(moved('argus_rollout_duration_seconds_count', { kind: 'deploy', outcome: 'succeeded' })).toBe(1);
    expect(moved('argus_rollout_duration_seconds_sum', { kind: 'deploy', outcome: 'succeeded' })).toBeGreaterThan(0);
    expect(moved('argus_rollbacks_total')).toBe(0); // a first deploy that fails is removed, not rolled back
    expect(moved('argus_drifts_detected_total', { kind: 'missing' })).toBe(1);
    expect(moved('argus_drifts_healed_total', { by: 'repair' })).toBe(1);
    expect(moved('argus_model_events_total', { event_type: 'DEPLOY_REQUESTED' })).toBe(2);
    expect(moved('argus_ray_puts_total')).toBeGreaterThanOrEqual(3); // two deploys, a removal, a repair
    expect(moved('argus_ray_put_applications_count')).toBe(moved('argus_ray_puts_total'));
    expect(moved('argus_ray_dashboard_request_duration_seconds_count', { operation: 'PUT /api/serve/applications/' })).toBe(moved('argus_ray_puts_total'));
    expect(after.value('argus_admission_queue_length')).toBe(0);
  });

  it('count API requests by route template, method and status, and models by state, on /metrics without a token', async () => {
    const token = (await issueToken(env.stack.pool, 'alice')).token;
    const http = await serve(createApp({ config: env.stack.config, pool: env.stack.pool, temporal: env.stack.client, adminToken: 'metrics-admin-token-0123456789' }), () => token);
    try {
      const [model] = (await env.stack.pool.query<{ model_key: string }>("SELECT model_key FROM models WHERE model_id_suffix = 'metered.ok'")).rows;
      expect((await http.call('GET', '/api/v2/serve/models')).status).toBe(200);
      expect((await http.call('GET', `/api/v2/serve/models/${model!.model_key}`)).status).toBe(200);
      expect((await http.call('GET', '/api/v2/serve/models/svc-alice-20200101-000000-zzzz')).status).toBe(404);
      const response = await http.call('GET', '/metrics', { token: null });
      expect(response.status).toBe(200);
      const scraped = parse(response.text);
      expect(scraped.value('argus_http_requests_total', { route: '/api/v2/serve/models', method: 'GET', status: '200' })).toBe(1);
      // Route templates, never raw keys: the two GETs of one model each count under the template.
      expect(scraped.value('argus_http_requests_total', { route: '/api/v2/serve/models/{model_key}', method: 'GET' })).toBe(2);
      expect(scraped.value('argus_http_requests_total', { route: '/api/v2/serve/models/{model_key}', status: '404' })).toBe(1);
      expect(response.text).not.toContain(model!.model_key);
      expect(scraped.value('argus_http_request_duration_seconds_count', { route: '/api/v2/serve/models', method: 'GET' })).toBe(1);
      expect(scraped.value('argus_models', { state: 'RUNNING' })).toBeGreaterThanOrEqual(1);
      expect(scraped.value('argus_models', { state: 'FAILED' })).toBeGreaterThanOrEqual(1);
      expect(scraped.value('argus_models_by_user', { user_id: 'alice' })).toBe(scraped.value('argus_models'));
    } finally {
      await http.close();
    }
  });
});
