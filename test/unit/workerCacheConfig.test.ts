import { ConfigError, loadConfig } from '../../src/config/config';

/** How many workflows a worker keeps in memory: a deliberate number, not one derived from the heap limit. */
const base = { ...process.env, ARGUS_MAX_CACHED_WORKFLOWS: undefined };

describe('worker workflow cache configuration', () => {
  it('keeps 1,000 workflows by default and takes the environment override', () => {
    expect(loadConfig(base).temporal.max_cached_workflows).toBe(1000);
    expect(loadConfig({ ...base, ARGUS_MAX_CACHED_WORKFLOWS: '250' }).temporal.max_cached_workflows).toBe(250);
  });

  it('refuses a count that is not a whole number, naming the key', () => {
    expect(() => loadConfig({ ...base, ARGUS_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ARGUS_MAX_CACHED_WORKFLOWS: '2.5' })).toThrow(/temporal\.max_cached_workflows/);
  });
});
