import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { engineSettingsOf, loadConfig } from '../../src/config/config';

/** No Docker engine runs here, so the production topology is checked as a document. */
const ROOT = path.resolve(__dirname, '../..');
const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; image?: string; build?: string; depends_on?: unknown; volumes?: string[] }>;
};
const configSource = readFileSync(path.join(ROOT, 'src/config/config.ts'), 'utf8');

describe('docker-compose.yml', () => {
  it('describes the production topology', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'ray-head', 'api', 'worker']));
  });

  it('configures the API and the worker only with keys the config loader knows', () => {
    for (const name of ['api', 'worker']) {
      const env = compose.services[name]?.environment ?? {};
      expect(Object.keys(env).length).toBeGreaterThan(5);
      for (const key of Object.keys(env)) {
        if (key === 'ARGUS_ADMIN_TOKEN') continue;
        expect(configSource).toContain(`'${key}'`);
      }
    }
  });

  it('runs the stock vLLM server on GPUs in production, never the CPU build or the stand-in', () => {
    const engineName = compose.services.worker?.environment?.ARGUS_ENGINE;
    expect(engineName).toBe('vllm');
    const config = loadConfig({ ARGUS_ENGINE: engineName });
    expect(engineSettingsOf(config)).toMatchObject({ server_cls: null, accelerator_config: null, placement_bundles: null, engine_kwargs: {} });
  });

  it('runs Temporal with the same dynamic config the dev servers get', () => {
    const temporal = compose.services.temporal;
    const mounted = (temporal?.volumes ?? []).map((v) => v.split(':')).find(([source]) => source === './config/temporal-dynamic-config.yaml');
    expect(mounted?.[1]).toBe(temporal?.environment?.DYNAMIC_CONFIG_FILE_PATH);
    const settings = YAML.parse(readFileSync(path.join(ROOT, 'config/temporal-dynamic-config.yaml'), 'utf8')) as Record<string, Array<{ value: unknown }>>;
    const flags = execFileSync(process.execPath, [path.join(ROOT, 'scripts/temporal-dynamic-config-flags.js')], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(settings['history.transferProcessorMaxPollRPS']?.[0]?.value).toBe(1000);
    expect(flags).toEqual(Object.entries(settings).flatMap(([key, values]) => ['--dynamic-config-value', `${key}=${JSON.stringify(values[0]?.value)}`]));
  });

  it("puts the product's Ray side (the ingress and the model-app builder) on the Ray node's path", () => {
    const ray = compose.services['ray-head'];
    const mounted = (ray?.volumes ?? []).map((v) => v.split(':')).find(([source]) => source === './python/argus_serve');
    expect(mounted?.[1]).toBe(`${ray?.environment?.PYTHONPATH}/argus_serve`);
  });

  it('persists Temporal in Postgres', () => {
    expect(compose.services.temporal?.environment?.DB).toMatch(/^postgres/);
  });
});

describe('monitoring', () => {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/argus-serve.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
  const prometheus = YAML.parse(readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };

  /** Metric names a PromQL expression reads (functions, label names and keywords left out). */
  function metricsIn(expr: string): string[] {
    const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '');
    return [...withoutLabels.matchAll(/[a-zA-Z_:][\w:]*/g)]
      .filter((m) => withoutLabels.slice((m.index ?? 0) + m[0].length).trimStart()[0] !== '(') // a function, not a metric
      .map((m) => m[0])
      .filter((name) => name.includes('_'));
  }

  it('charts only metrics that exist: the product\'s own (registered by the API and the worker) and Ray Serve\'s (recorded from a Ray 2.58 node)', async () => {
    const { createApiMetrics } = await import('../../src/observability/metrics/apiMetrics');
    const { workerMetricsRegistry } = await import('../../src/observability/metrics/workerMetrics');
    const fakePool = {} as never;
    const own = new Set<string>();
    for (const registry of [createApiMetrics(fakePool).registry, workerMetricsRegistry(fakePool, 'prod')]) {
      for (const metric of registry.getMetricsAsArray()) {
        own.add(metric.name);
        for (const suffix of ['_bucket', '_sum', '_count']) own.add(`${metric.name}${suffix}`);
      }
    }
    const ray = new Set(readFileSync(path.join(ROOT, 'test/fixtures/ray-serve-2.58/metrics/names.txt'), 'utf8').split('\n').filter(Boolean));
    const charted = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr)));
    expect(charted.length).toBeGreaterThan(15);
    expect(charted.filter((name) => !own.has(name) && !ray.has(name))).toEqual([]);
    expect(charted.some((name) => name.startsWith('ray_serve_'))).toBe(true);
  });

  it('provisions Prometheus and Grafana with the dashboard, scraping the ports the services serve metrics on', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['prometheus', 'grafana']));
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets).toEqual(expect.arrayContaining([`api:${compose.services.api?.environment?.ARGUS_API_METRICS_PORT}`, `worker:${compose.services.worker?.environment?.ARGUS_WORKER_METRICS_PORT}`, 'ray-head:8080']));
    expect(compose.services.grafana?.volumes).toEqual(expect.arrayContaining(['./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro']));
  });
});
