import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assessModel, describeUnscheduledReplicas, foreignApplicationsIn, serveDetailsSchema, singleDeploymentView, summarizeRayMessage } from '../../src/ray/serveStatus';

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
    expect(a).toEqual({ phase: 'progressing', readyReplicas: 0, targetReplicas: 1, message: 'waiting for 16 GPUs: 1 replica of 16 GPUs each not scheduled yet', unscheduled: true });
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

  describe('narrowed reads (one deployment for readiness, foreign apps for the writer)', () => {
    const statusFiles = ['deploy-ok', 'deploy-fail', 'multi-model', 'remove-app'].flatMap((dir) =>
      (require('node:fs').readdirSync(path.join(REFERENCE, dir)) as string[]).filter((f) => !f.startsWith('request') && f.endsWith('.json')).map((f) => `${dir}/${f}`),
    );
    const raw = (file: string): unknown => JSON.parse(readFileSync(path.join(REFERENCE, file), 'utf8'));

    it('assess every recorded deployment exactly as the whole status does', () => {
      let compared = 0;
      for (const file of statusFiles) {
        const whole = recorded(file);
        for (const [appName, app] of Object.entries(whole.applications)) {
          for (const deploymentName of [...Object.keys(app.deployments), 'NoSuchServer:absent']) {
            const view = singleDeploymentView(raw(file), appName, deploymentName);
            expect(assessModel(view, appName, deploymentName, 1, 'r1')).toEqual(assessModel(whole, appName, deploymentName, 1, 'r1'));
            expect(view.applications[appName]?.deployments[deploymentName]).toEqual(whole.applications[appName]?.deployments[deploymentName]);
            compared += 1;
          }
        }
        expect(singleDeploymentView(raw(file), 'no_such_app', 'X:y')).toEqual({ applications: {} });
      }
      expect(compared).toBeGreaterThan(20);
    });

    it('keep the validation that matters: a malformed deployment or app fails the read', () => {
      const bad = { applications: { llm: { name: 'llm', status: 'RUNNING', deployments: { 'A:b': { name: 'A:b', replicas: 'not a list' } } } } };
      expect(() => singleDeploymentView(bad, 'llm', 'A:b')).toThrow();
      expect(() => singleDeploymentView({ applications: { llm: { status: 'RUNNING' } } }, 'llm', 'A:b')).toThrow();
      expect(() => foreignApplicationsIn({ applications: { other: { name: 'other', status: 'RUNNING', deployed_app_config: { name: 'other' } } } }, (name) => name === 'llm')).toThrow();
      // What the narrowed reads skip is not validated: another deployment's junk does not fail a readiness check.
      const junkNeighbour = { applications: { llm: { name: 'llm', status: 'RUNNING', deployments: { 'A:b': { name: 'A:b', status: 'HEALTHY' }, 'C:d': 42 } } } };
      expect(singleDeploymentView(junkNeighbour, 'llm', 'A:b').applications.llm?.deployments['A:b']?.status).toBe('HEALTHY');
    });

    it('return the foreign apps exactly as the whole status reports them deployed', () => {
      for (const file of statusFiles) {
        const whole = recorded(file);
        for (const managed of [...Object.keys(whole.applications), 'llm']) {
          const expected = Object.values(whole.applications)
            .filter((app) => app.name !== managed && app.deployed_app_config)
            .map((app) => app.deployed_app_config);
          expect(foreignApplicationsIn(raw(file), (name) => name === managed)).toEqual(expected);
        }
      }
      const withForeign = { applications: { llm: { name: 'llm', status: 'RUNNING' }, theirs: { name: 'theirs', status: 'RUNNING', deployed_app_config: { name: 'theirs', import_path: 'their.module:app', args: { k: 1 } } } } };
      expect(foreignApplicationsIn(withForeign, (name) => name === 'llm')).toEqual([{ name: 'theirs', import_path: 'their.module:app', args: { k: 1 } }]);
    });
  });
});
