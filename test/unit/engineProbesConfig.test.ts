import { ConfigError, engineProbesFor, loadConfig } from '../../src/config/config';

/** The per-engine readiness probe sets of the platform config. */
const base = { ...process.env, ARGUS_ENGINE_PROBES: undefined, ARGUS_ENGINE_PROBE_URL: undefined };

describe('engine probe configuration', () => {
  it('names the documented probe sets and probes nothing by default (Ray Serve LLM runs vLLM in-process)', () => {
    const config = loadConfig(base);
    expect(config.serving.engine_probes.sets).toEqual({
      vllm: ['/health'],
      triton: ['/v2/health/ready', '/v2/models/{model}/ready'],
      tgi: ['/health'],
    });
    expect(engineProbesFor(config)).toBeUndefined();
  });

  it('picks the set of the configured engine, probed on the ingress unless a base URL is given', () => {
    const triton = loadConfig({ ...base, ARGUS_ENGINE_PROBES: 'triton' });
    expect(engineProbesFor(triton)).toEqual({ baseUrl: triton.serving.ingress_url, paths: ['/v2/health/ready', '/v2/models/{model}/ready'] });
    const tgi = loadConfig({ ...base, ARGUS_ENGINE_PROBES: 'tgi', ARGUS_ENGINE_PROBE_URL: 'http://engine.internal:3000' });
    expect(engineProbesFor(tgi)).toEqual({ baseUrl: 'http://engine.internal:3000', paths: ['/health'] });
  });

  it('refuses an engine without a probe set, naming the key', () => {
    expect(() => loadConfig({ ...base, ARGUS_ENGINE_PROBES: 'sglang' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ARGUS_ENGINE_PROBES: 'sglang' })).toThrow(/serving\.engine_probes\.engine: engine must name one of the probe sets/);
  });
});
