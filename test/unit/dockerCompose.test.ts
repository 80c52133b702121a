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
