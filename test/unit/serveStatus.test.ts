import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assessModel, describeUnscheduledReplicas, serveDetailsSchema, summarizeRayMessage } from '../../src/ray/serveStatus';

const REFERENCE = path.resolve(__dirname, '../fixtures/ray-serve-2.58');
const recorded = (file: string) => serveDetailsSchema.parse(JSON.parse(readFileSync(path.join(REFERENCE, file), 'utf8')));

describe('Serve status against recorded Ray 2.58 responses', () => {
  it('parses every recorded GET', () => {
    for (const dir of ['deploy-ok', 'deploy-fail', 'multi-model', 'remove-app']) {
      for (const file of require('node:fs').readdirSync(path.join(REFERENCE, dir)) as string[]) {
        if (!file.startsWith('request') && file.endsWith('.json')) expect(() => recorded(`${dir}/${file}`)).not.toThrow();
      }
    }
  });

  it('sees a deploying model as progressing and a running one as healthy', () => {
    expect(assessModel(recorded('deploy-ok/llm_00.json'), 'llm', 'FakeLLMServer:fake--tiny-echo', 1).phase).not.toBe('healthy');
    expect(assessModel(recorded('deploy-ok/llm_05.json'), 'llm', 'FakeLLMServer:fake--tiny-echo', 1)).toEqual({
      phase: 'healthy',
      readyReplicas: 1,
      targetReplicas: 1,
    });
  });

  it('does not call a deployment healthy while fewer replicas than the target run', () => {
    expect(assessModel(recorded('deploy-ok/llm_05.json'), 'llm', 'FakeLLMServer:fake--tiny-echo', 2).phase).toBe('progressing');
  });

  it('does not trust a status that still runs another revision marker', () => {
    const raw = JSON.parse(readFileSync(path.join(REFERENCE, 'deploy-ok/llm_05.json'), 'utf8'));
    raw.applications.llm.deployments['FakeLLMServer:fake--tiny-echo'].deployment_config.ray_actor_options.runtime_env.env_vars.ARGUS_MODEL_REVISION = 'r1';
    const details = serveDetailsSchema.parse(raw);
    expect(assessModel(details, 'llm', 'FakeLLMServer:fake--tiny-echo', 1, 'r2').phase).toBe('progressing');
    expect(assessModel(details, 'llm', 'FakeLLMServer:fake--tiny-echo', 1, 'r1').phase).toBe('healthy');
  });

  it('reports a failed replica constructor with the root cause', () => {
    const a = assessModel(recorded('deploy-fail/fail_05.json'), 'c', 'Boom', 1);
    expect(a.phase).toBe('failed');
    if (a.phase === 'failed') expect(summarizeRayMessage(a.message)).toBe('RuntimeError: boom: constructor failed on purpose');
  });

  it('reports an app that failed to build (bad import path) as failed', () => {
    const a = assessModel(recorded('deploy-fail/fail_05.json'), 'd', 'Anything', 1);
    expect(a.phase).toBe('failed');
    if (a.phase === 'failed') expect(summarizeRayMessage(a.message)).toMatch(/ModuleNotFoundError|Error/);
  });

  it('treats a missing app as absent', () => {
    expect(assessModel(recorded('deploy-ok/llm_05.json'), 'other', 'X', 1).phase).toBe('absent');
  });

  it('says how many GPUs a model waits for, from the recorded pending-replica status', () => {
    const raw = JSON.parse(readFileSync(path.resolve(__dirname, '../../python/argus_standin/recorded/pending-gpus.json'), 'utf8'));
    const details = serveDetailsSchema.parse(raw);
    const a = assessModel(details, 'argus_llm_app', 'StandInLLMServer:dave-202611221203-huge', 1);
    expect(a).toEqual({ phase: 'progressing', readyReplicas: 0, targetReplicas: 1, message: 'waiting for 16 GPUs: 1 replica of 16 GPUs each not scheduled yet' });
    // Its neighbours in the same recording are healthy.
    expect(assessModel(details, 'argus_llm_app', 'StandInLLMServer:carol-202611221202-tp2', 1).phase).toBe('healthy');
  });

  it('counts every unscheduled replica and the GPUs still free', () => {
    const message =
      "Deployment 'X' in application 'a' has 2 replicas that have taken more than 30s to be scheduled. This may be due to waiting for the cluster to auto-scale. " +
      'Resources required for each replica: [{"CPU": 0.1, "GPU": 1.0}, {"GPU": 1.0}], total resources available: {"GPU": 1.0, "CPU": 3.0}. Use `ray status` for more details.';
    expect(describeUnscheduledReplicas(message)).toBe('waiting for 4 GPUs: 2 replicas of 2 GPUs each not scheduled yet');
    expect(describeUnscheduledReplicas(message.replace(/"GPU": 1.0/g, '"memory": 1'))).toBe('waiting for cluster resources: 2 replicas needing 0.1 CPU each not scheduled yet');
    expect(describeUnscheduledReplicas('A replica failed to start with exception. Retrying 2 more time(s).')).toBeUndefined();
    expect(describeUnscheduledReplicas("has 1 replicas that have taken more than 30s to be scheduled. Resources required for each replica: [not json], total resources available: {}.")).toBeUndefined();
  });
});
