import fc from 'fast-check';
import type { ServingSpec } from '../../src/domain/servingSpec';
import { renderClusterBody } from '../../src/ray/clusterLayout';
import { ingressUserConfig } from '../../src/ray/ingressApp';
import { modelAppName, ModelPlacement, nextPlacement, PlacementStep, routedApp } from '../../src/ray/modelPlacement';
import { renderModelConfig } from '../../src/ray/singleAppLayout';
import { STOCK_VLLM_ENGINE } from '../../src/ray/serveConfig';

const settings = { appName: 'argus_llm_app', storageRoot: '/srv', acceleratorType: 'H20', engine: STOCK_VLLM_ENGINE };
const spec = (extra: Partial<ServingSpec> = {}): ServingSpec => ({
  model_id_suffix: 'qwen-0.5b',
  model_source: '/private/hf/Qwen/q',
  num_replicas: 1,
  gpus_per_replica: 1,
  engine_kwargs: {},
  readiness_timeout_s: null,
  ...extra,
});
const KEY = 'svc-alice-20261129-175200-k3x9';
const MODEL = 'alice-202611291752-qwen-0.5b';
const step = (current: ModelPlacement | null, s: PlacementStep, marker: string, extra: Partial<ServingSpec> = {}, targetApp?: string) =>
  nextPlacement(current, s, { modelKey: KEY, modelId: MODEL, spec: spec(extra), marker, targetApp }, settings);

describe('a model placement, step by step', () => {
  it('a first deploy is one app of its own, routed, with no HTTP route', () => {
    const first = step(null, 'replace', 'r1');
    expect(first.routed_app).toBe(`argus_llm_app--${KEY}--r1`);
    expect(first.apps).toHaveLength(1);
    expect(first.apps[0]?.deployment.name).toBe('LLMServer:alice-202611291752-qwen-0_5b');
    const body = renderClusterBody([first], [], settings);
    expect(body.applications.find((a) => a.name === first.routed_app)).toMatchObject({ route_prefix: null, import_path: 'argus_serve.builders:build_model_app' });
  });

  it('a scale stays in the same app with the same marker (Ray keeps the replicas), a redefinition in place takes the new marker', () => {
    const first = step(null, 'replace', 'r1');
    const scaled = step(first, 'replace', 'r2', { num_replicas: 3 });
    expect(scaled.routed_app).toBe(first.routed_app);
    expect(routedApp(scaled).marker).toBe('r1');
    expect(routedApp(scaled).llm_config).toEqual(routedApp(first).llm_config);
    expect(routedApp(scaled).deployment.autoscaling_config).toEqual({ min_replicas: 3, max_replicas: 3, initial_replicas: 3 });
    const redefined = step(first, 'replace', 'r3', { engine_kwargs: { max_model_len: 4096 } });
    expect(redefined.routed_app).toBe(first.routed_app);
    expect(routedApp(redefined).marker).toBe('r3');
  });

  it('blue/green: stage beside, promote, retire; a failed candidate is retired and the old app never changed', () => {
    const first = step(null, 'replace', 'r1');
    const staged = step(first, 'stage', 'r2', { model_source: '/private/hf/other' });
    expect(staged.routed_app).toBe(first.routed_app);
    expect(staged.apps.map((a) => a.app_name)).toEqual([first.routed_app, `argus_llm_app--${KEY}--r2`]);
    expect(staged.apps[0]).toEqual(first.apps[0]);
    const promoted = step(staged, 'promote', 'r2', { model_source: '/private/hf/other' });
    expect(promoted.routed_app).toBe(`argus_llm_app--${KEY}--r2`);
    expect(promoted.apps).toHaveLength(2);
    const back = step(promoted, 'promote', 'r2', {}, first.routed_app);
    expect(back.routed_app).toBe(first.routed_app);
    expect(step(promoted, 'retire', 'r2').apps.map((a) => a.app_name)).toEqual([`argus_llm_app--${KEY}--r2`]);
    expect(step(staged, 'retire', 'r2')).toEqual(first);
  });

  it('a restart (a repair) keeps the app, its route and its model, with a new marker so Ray replaces the replicas; a candidate is dropped', () => {
    const first = step(null, 'replace', 'r1');
    const staged = step(first, 'stage', 'r2', { model_source: '/private/hf/other' });
    const restarted = step(staged, 'restart', 'r1-h3');
    expect(restarted.routed_app).toBe(first.routed_app);
    expect(restarted.apps.map((a) => a.app_name)).toEqual([first.routed_app]);
    expect(routedApp(restarted).marker).toBe('r1-h3');
    expect(routedApp(restarted).llm_config).toEqual(routedApp(first).llm_config);
    expect(routedApp(restarted).deployment.ray_actor_options.runtime_env.env_vars.ARGUS_MODEL_REVISION).toBe('r1-h3');
    expect(ingressUserConfig([restarted])).toEqual(ingressUserConfig([first])); // the ingress is not touched
  });

  it('refuses steps that do not fit', () => {
    expect(() => step(null, 'promote', 'r2')).toThrow(/cannot promote/);
    expect(() => step(step(null, 'replace', 'r1'), 'promote', 'r9')).toThrow(/not staged/);
  });

  it('every reachable placement routes to an app it holds, holds at most two apps, and names them after the model', () => {
    const steps = fc.array(fc.tuple(fc.constantFrom<PlacementStep>('replace', 'stage', 'promote', 'retire', 'restart'), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 })), {
      maxLength: 12,
    });
    fc.assert(
      fc.property(steps, (sequence) => {
        let current: ModelPlacement | null = null;
        for (const [s, revision, replicas] of sequence) {
          try {
            current = step(current, s, `r${revision}`, { num_replicas: replicas });
          } catch {
            continue; // a refused step leaves the placement as it was
          }
          expect(current.apps.some((a) => a.app_name === current!.routed_app)).toBe(true);
          expect(current.apps.length).toBeLessThanOrEqual(2);
          for (const app of current.apps) expect(app.app_name.startsWith(`argus_llm_app--${KEY}--`)).toBe(true);
          expect(new Set(current.apps.map((a) => a.app_name)).size).toBe(current.apps.length);
        }
      }),
    );
  });
});

describe('the cluster body and the ingress routes', () => {
  it("an engine's own setup hook reaches the replicas, each app's build and the ingress as the variable Ray's workers read; Ray's stock engine gets none", () => {
    const standin = { ...settings, engine: { ...STOCK_VLLM_ENGINE, server_cls: 'argus_standin.server:StandInLLMServer', worker_setup_hook: 'argus_standin.worker_setup.without_vllm' } };
    const placement = nextPlacement(null, 'replace', { modelKey: KEY, modelId: MODEL, spec: spec(), marker: 'r1' }, standin);
    const [app, ingress] = renderClusterBody([placement], [], standin).applications as Array<Record<string, any>>;
    const hook = { __RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR: 'argus_standin.worker_setup.without_vllm' };
    expect(app?.runtime_env).toEqual({ env_vars: hook });
    expect(app?.deployments[0].ray_actor_options.runtime_env.env_vars).toEqual({ ARGUS_MODEL_REVISION: 'r1', ...hook });
    expect(ingress?.runtime_env).toEqual({ env_vars: hook });
    const stock = renderClusterBody([step(null, 'replace', 'r1')], [], settings).applications as Array<Record<string, any>>;
    expect(stock.map((a) => a.runtime_env)).toEqual([undefined, undefined]);
    expect(stock[0]?.deployments[0].ray_actor_options.runtime_env.env_vars).toEqual({ ARGUS_MODEL_REVISION: 'r1' });
  });

  it('carries every model app, the foreign apps as given, and the ingress with one route per model (candidates apart)', () => {
    const a = step(null, 'replace', 'r1');
    const b = nextPlacement(null, 'replace', { modelKey: 'svc-bob-20261129-175200-aaaa', modelId: 'bob-202611291752-tiny', spec: spec(), marker: 'r4' }, settings);
    const bStaged = nextPlacement(b, 'stage', { modelKey: 'svc-bob-20261129-175200-aaaa', modelId: 'bob-202611291752-tiny', spec: spec({ model_source: '/private/x' }), marker: 'r5' }, settings);
    const foreign = { name: 'theirs', import_path: 'x:y', route_prefix: '/theirs' };
    const body = renderClusterBody([a, bStaged], [foreign], settings);
    expect(body.applications.map((x) => x.name)).toEqual(['theirs', a.routed_app, b.routed_app, modelAppName(settings, 'svc-bob-20261129-175200-aaaa', 'r5'), 'argus_llm_app']);
    const ingress = body.applications[body.applications.length - 1]!;
    expect(ingress).toMatchObject({ route_prefix: '/', import_path: 'argus_serve.builders:build_ingress_app', args: {} });
    const userConfig = (ingress.deployments as Array<{ name: string; user_config: ReturnType<typeof ingressUserConfig> }>)[0]!;
    expect(userConfig.name).toBe('ArgusIngress');
    // Ray's messages name the node's storage root; the ingress shows users the logical /private.
    expect(userConfig.user_config.path_aliases).toEqual({ '/srv': '/private' });
    expect(userConfig.user_config.models).toEqual([
      { model_id: MODEL, app_name: a.routed_app, deployment_name: 'LLMServer:alice-202611291752-qwen-0_5b', candidates: [], max_model_len: null },
      {
        model_id: 'bob-202611291752-tiny',
        app_name: b.routed_app,
        deployment_name: 'LLMServer:bob-202611291752-tiny',
        candidates: [{ app_name: modelAppName(settings, 'svc-bob-20261129-175200-aaaa', 'r5'), deployment_name: 'LLMServer:bob-202611291752-tiny' }],
        max_model_len: null,
      },
    ]);
  });

  it("the ingress's args never change with the models (a change there would restart it); its routes' version does", () => {
    const a = step(null, 'replace', 'r1');
    const none = renderClusterBody([], [], settings).applications[0]!;
    const one = renderClusterBody([a], [], settings).applications[1]!;
    expect(none.args).toEqual(one.args);
    expect(none.import_path).toBe(one.import_path);
    expect(ingressUserConfig([]).version).not.toBe(ingressUserConfig([a]).version);
    expect(ingressUserConfig([a]).version).toBe(ingressUserConfig([step(null, 'replace', 'r1')]).version);
  });

  it('a scale leaves every other model app and the ingress exactly as they were', () => {
    const a = step(null, 'replace', 'r1');
    const other = nextPlacement(null, 'replace', { modelKey: 'svc-bob-20261129-175200-aaaa', modelId: 'bob-202611291752-tiny', spec: spec(), marker: 'r1' }, settings);
    const before = renderClusterBody([a, other], [], settings).applications;
    const after = renderClusterBody([step(a, 'replace', 'r2', { num_replicas: 4 }), other], [], settings).applications;
    expect(after.filter((x) => x.name !== a.routed_app)).toEqual(before.filter((x) => x.name !== a.routed_app));
  });

  it('while entries of the single-app layout remain, the old app keeps route "/" and no ingress is rendered', () => {
    const legacy = renderModelConfig('carol-202601010000-old', spec(), 'r1', settings);
    const migrating: ModelPlacement = { ...step(null, 'replace', 'm'), migrating_from: legacy };
    const body = renderClusterBody([migrating], [], settings);
    expect(body.applications.map((x) => [x.name, x.import_path])).toEqual([
      [migrating.routed_app, 'argus_serve.builders:build_model_app'],
      ['argus_llm_app', 'ray.serve.llm:build_openai_app'],
    ]);
    const done = renderClusterBody([{ ...migrating, migrating_from: undefined }], [], settings);
    expect(done.applications.map((x) => x.import_path)).toEqual(['argus_serve.builders:build_model_app', 'argus_serve.builders:build_ingress_app']);
  });
});
