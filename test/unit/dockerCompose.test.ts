import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/** No Docker engine runs here, so the production topology is checked as a document. */
const ROOT = path.resolve(__dirname, '../..');
const compose = YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string>; image?: string; build?: string; depends_on?: unknown }>;
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

  it('runs the stock vLLM server in production, never the CPU stand-in', () => {
    expect(compose.services.worker?.environment?.ARGUS_LLM_SERVER_CLS).toBe('');
  });

  it('persists Temporal in Postgres', () => {
    expect(compose.services.temporal?.environment?.DB).toMatch(/^postgres/);
  });
});
