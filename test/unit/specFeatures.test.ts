import fc from 'fast-check';
import { apiErrorOf } from '../support/apiErrorOf';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { largestReplica, layoutFor } from '../../src/domain/parallelism';
import { reservedBecause } from '../../src/domain/replicaEnv';
import {
  parseSpecYaml,
  replicaFloor,
  sameSpec,
  specForEvents,
  specToYaml,
  type SpecPlatform,
  type SpecRules,
  validateServingSpec,
  withScale,
} from '../../src/domain/servingSpec';

/** A staged Hugging Face cache with one repo, so repo ids resolve as on a platform. */
function stagedRoot(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'spec-features-'));
  const repo = path.join(root, 'hf', 'hub', 'models--argus-demo--tiny-chat');
  const commit = 'a'.repeat(40);
  mkdirSync(path.join(repo, 'snapshots', commit), { recursive: true });
  mkdirSync(path.join(repo, 'refs'), { recursive: true });
  writeFileSync(path.join(repo, 'snapshots', commit, 'config.json'), '{}');
  writeFileSync(path.join(repo, 'refs', 'main'), commit);
  return root;
}

const platform: SpecPlatform = { acceleratorTypes: ['H20', 'A100'], nodeGpus: [8, 8], storageRoot: stagedRoot() };
const rules: SpecRules = { userId: 'alice', allowStandInKnobs: false, platform };
const base = { model_id: 'qwen-0.5b', model_source: '$HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct' };

describe('the spec fields of issue 16, as the issue writes them', () => {
  it('accepts the example spec verbatim', () => {
    const spec = validateServingSpec(
      parseSpecYaml(`model_id: qwen-0.5b
model_source: argus-demo/tiny-chat
gpus_per_replica: 1
autoscaling:
  min_replicas: 0
  max_replicas: 4
  target_ongoing_requests: 8
  idle_timeout_s: 300
env: {VLLM_ALLOW_RUNTIME_LORA_UPDATING: "true"}
resources: {cpus_per_replica: 4, memory_gib_per_replica: 32}
accelerator_type: H20
description: text to text model service
`),
      rules,
    );
    expect(spec).toMatchObject({
      model_id_suffix: 'qwen-0.5b',
      model_source: `/private/hf/hub/models--argus-demo--tiny-chat/snapshots/${'a'.repeat(40)}`,
      model_repo: { repo_id: 'argus-demo/tiny-chat', revision: 'main', commit: 'a'.repeat(40) },
      num_replicas: 1, // a rollout starts one replica even when the model may scale to zero
      autoscaling: { min_replicas: 0, max_replicas: 4, target_ongoing_requests: 8, idle_timeout_s: 300 },
      env: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'true' },
      resources: { cpus_per_replica: 4, memory_gib_per_replica: 32 },
      accelerator_type: 'H20',
      description: 'text to text model service',
    });
    expect(replicaFloor(spec)).toBe(0);
    expect(specToYaml(spec)).toContain(`model_source: /private/hf/hub/models--argus-demo--tiny-chat/snapshots/${'a'.repeat(40)} # argus-demo/tiny-chat@main`);
  });

  it('fills autoscaling defaults and keeps a spec without the new fields as it was', () => {
    const spec = validateServingSpec({ ...base, autoscaling: { max_replicas: 3 } }, rules);
    expect(spec.autoscaling).toEqual({ min_replicas: 1, max_replicas: 3, target_ongoing_requests: 8, idle_timeout_s: 300 });
    const plain = validateServingSpec(base, rules);
    expect(Object.keys(plain).sort()).toEqual(['engine_kwargs', 'gpus_per_replica', 'model_id_suffix', 'model_source', 'num_replicas', 'readiness_timeout_s']);
  });

  it.each([
    ['both num_replicas and autoscaling', { num_replicas: 2, autoscaling: { max_replicas: 2 } }, 422, 'autoscaling', /either num_replicas .* or autoscaling/],
    ['autoscaling without max_replicas', { autoscaling: { min_replicas: 0 } }, 400, undefined, /autoscaling.max_replicas/],
    ['max below min', { autoscaling: { min_replicas: 3, max_replicas: 2 } }, 422, 'autoscaling.max_replicas', /at least min_replicas \(3\)/],
    ['negative min', { autoscaling: { min_replicas: -1, max_replicas: 2 } }, 422, 'autoscaling.min_replicas', /from 0 to 64/],
    ['zero max', { autoscaling: { min_replicas: 0, max_replicas: 0 } }, 422, 'autoscaling.max_replicas', /from 1 to 64/],
    ['zero target', { autoscaling: { max_replicas: 2, target_ongoing_requests: 0 } }, 422, 'autoscaling.target_ongoing_requests', /above 0/],
    ['short idle', { autoscaling: { max_replicas: 2, min_replicas: 0, idle_timeout_s: 1 } }, 422, 'autoscaling.idle_timeout_s', /from 10 to/],
    ['unknown autoscaling field', { autoscaling: { max_replicas: 2, rps: 3 } }, 400, undefined, /unknown field.*rps/],
    ['string max', { autoscaling: { max_replicas: 'four' } }, 400, undefined, /autoscaling.max_replicas/],
    ['lower-case env name', { env: { path: '/x' } }, 400, 'env', /env name "path" must match/],
    ['env name with a digit first', { env: { '1X': 'a' } }, 400, 'env', /env name "1X"/],
    ['RAY_ env', { env: { RAY_DEDUP_LOGS: '0' } }, 400, 'env.RAY_DEDUP_LOGS', /env.RAY_DEDUP_LOGS is set by the platform/],
    ['CUDA_ env', { env: { CUDA_VISIBLE_DEVICES: '0' } }, 400, 'env.CUDA_VISIBLE_DEVICES', /env.CUDA_VISIBLE_DEVICES is set by the platform/],
    ['the revision marker', { env: { ARGUS_MODEL_REVISION: 'r9' } }, 400, 'env.ARGUS_MODEL_REVISION', /ARGUS_MODEL_REVISION is set by the platform/],
    ["Ray's setup-hook variable", { env: { __RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR: 'x.y' } }, 400, 'env.__RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR', /set by the platform/],
    ['a hub endpoint', { env: { HF_ENDPOINT: 'https://example.org' } }, 400, 'env.HF_ENDPOINT', /never reach a hub/],
    ['a list as env value', { env: { A: ['x'] } }, 400, undefined, /env/],
    ['zero cpus', { resources: { cpus_per_replica: 0 } }, 422, 'resources.cpus_per_replica', /above 0/],
    ['huge memory', { resources: { memory_gib_per_replica: 1e6 } }, 422, 'resources.memory_gib_per_replica', /at most 4096/],
    ['unknown resource', { resources: { gpus: 2 } }, 400, undefined, /unknown field.*gpus/],
    ['an accelerator not offered', { accelerator_type: 'H100' }, 422, 'accelerator_type', /one of H20, A100/],
    ['a long description', { description: 'x'.repeat(1001) }, 400, 'description', /at most 1000/],
    ['a control character in the description', { description: 'a\u0007b' }, 400, 'description', /control characters/],
    ['a replica larger than the cluster', { gpus_per_replica: 24 }, 422, 'gpus_per_replica', /2 nodes with 8, 8 GPUs.*at most 16/],
    ['a replica that splits unevenly across nodes', { gpus_per_replica: 11 }, 422, 'gpus_per_replica', /equal stages/],
    ['a repo id not staged', { model_source: 'Qwen/Qwen2.5-0.5B-Instruct' }, 422, 'model_source', /not staged.*\/private\/hf\/hub\/models--Qwen--Qwen2.5-0.5B-Instruct/],
    ['a malformed repo id', { model_source: 'org/na me' }, 400, 'model_source', /repo id looks like org\/name/],
  ])('refuses %s, naming the field', (_name, extra, status, field, message) => {
    const err = apiErrorOf(() => validateServingSpec({ ...base, ...extra }, rules));
    expect(err.status).toBe(status);
    expect(err.message).toMatch(message);
    if (field) expect(err.details?.field).toBe(field);
    // Messages never name where the platform keeps its files.
    expect(err.message).not.toContain(platform.storageRoot as string);
  });

  it('splits a replica larger than a node into tensor x pipeline stages', () => {
    expect(validateServingSpec({ ...base, gpus_per_replica: 16 }, rules).parallelism).toEqual({ tensor_parallel_size: 8, pipeline_parallel_size: 2 });
    expect(validateServingSpec({ ...base, gpus_per_replica: 8 }, rules).parallelism).toBeUndefined();
    expect(layoutFor(12, [8, 8])).toEqual({ tensor_parallel_size: 6, pipeline_parallel_size: 2 });
    expect(layoutFor(4, [2, 2, 1])).toEqual({ tensor_parallel_size: 2, pipeline_parallel_size: 2 });
    expect(largestReplica([8, 4, 4])).toBe(12);
  });

  it('places every layout it returns on the nodes, and finds one whenever the replica fits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 48 }), (nodes, gpus) => {
        const layout = layoutFor(gpus, nodes);
        if (layout === null) return gpus > largestReplica(nodes) || gpus > Math.max(...nodes);
        return (
          layout.tensor_parallel_size * layout.pipeline_parallel_size === gpus &&
          nodes.filter((n) => n >= layout.tensor_parallel_size).length >= layout.pipeline_parallel_size
        );
      }),
    );
  });

  it('never puts env values in events, only names', () => {
    const spec = validateServingSpec({ ...base, env: { HF_TOKEN_FOR_TEST: 's3cret', B: '1' } }, rules);
    const shown = JSON.stringify(specForEvents(spec));
    expect(shown).not.toContain('s3cret');
    expect(specForEvents(spec)).toMatchObject({ env_names: ['B', 'HF_TOKEN_FOR_TEST'] });
    expect(reservedBecause('VLLM_ALLOW_RUNTIME_LORA_UPDATING')).toBeNull();
  });

  it('switches between fixed and autoscaled by a scale', () => {
    const fixed = validateServingSpec({ ...base, num_replicas: 2 }, rules);
    const autoscaled = withScale(fixed, { autoscaling: { min_replicas: 0, max_replicas: 3, target_ongoing_requests: 4, idle_timeout_s: 60 } });
    expect(autoscaled.num_replicas).toBe(1);
    expect(replicaFloor(autoscaled)).toBe(0);
    const back = withScale(autoscaled, { num_replicas: 2 });
    expect(back.autoscaling).toBeUndefined();
    expect(sameSpec(back, fixed)).toBe(true);
  });
});

// ---- the whole grammar: every valid spec survives resolved_spec_yaml unchanged ----

const suffix = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,20}[A-Za-z0-9])?$/).filter((s) => !s.includes('..'));
const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,12}$/).filter((n) => reservedBecause(n) === null);
const autoscalingDoc = fc
  .record({ min: fc.integer({ min: 0, max: 64 }), extra: fc.integer({ min: 0, max: 10 }), target: fc.integer({ min: 1, max: 100 }), idle: fc.integer({ min: 10, max: 3600 }) })
  .map(({ min, extra, target, idle }) => ({ min_replicas: min, max_replicas: Math.min(64, Math.max(1, min + extra)), target_ongoing_requests: target, idle_timeout_s: idle }));
const specDoc = fc.record(
  {
    model_id: suffix,
    model_source: fc.constantFrom('$HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct', '/private/hf/demo/tiny-chat', '$HOME/models/m.v1', 'argus-demo/tiny-chat', 'argus-demo/tiny-chat@main'),
    num_replicas: fc.integer({ min: 1, max: 64 }),
    autoscaling: autoscalingDoc,
    gpus_per_replica: fc.constantFrom(1, 2, 8, 16),
    env: fc.dictionary(envName, fc.string({ maxLength: 20 }).filter((v) => !v.includes('\0')), { maxKeys: 4 }),
    resources: fc.record({ cpus_per_replica: fc.double({ min: 0.1, max: 64, noNaN: true }), memory_gib_per_replica: fc.integer({ min: 1, max: 512 }) }, { requiredKeys: [] }),
    accelerator_type: fc.constantFrom('H20', 'A100'),
    description: fc.string({ maxLength: 60 }).filter((d) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(d) && d.trim() !== ''),
  },
  { requiredKeys: ['model_id', 'model_source'] },
).filter((d) => !(d.num_replicas !== undefined && d.autoscaling !== undefined) && (d.autoscaling === undefined || d.autoscaling.max_replicas >= d.autoscaling.min_replicas));

describe('resolved_spec_yaml over the whole spec grammar', () => {
  it('validates again to the same spec (property)', () => {
    fc.assert(
      fc.property(specDoc, (doc) => {
        const spec = validateServingSpec(doc, rules);
        const again = validateServingSpec(parseSpecYaml(specToYaml(spec)), rules);
        // A repo id is shown as the snapshot it resolved to (the id in a comment); the rest is the same request.
        return sameSpec(spec.model_repo ? { ...again, model_repo: spec.model_repo } : again, spec);
      }),
      { numRuns: 300 },
    );
  });
});
