import fc from 'fast-check';
import { modelIdPrefix, newModelKey, publicModelId, SUFFIX_PATTERN, USER_ID_PATTERN } from '../../src/domain/naming';
import { rayValidates } from '../support/rayValidation';
import { validateServingSpec } from '../../src/domain/servingSpec';
import { renderClusterBody } from '../../src/ray/clusterLayout';
import { nextPlacement } from '../../src/ray/modelPlacement';
import { renderSingleAppBody, renderManagedApplication, renderModelConfig } from '../../src/ray/singleAppLayout';
import { loadConfig } from '../../src/config/config';

/**
 * Every name the API accepts must map to names Ray accepts. The judge is Ray's own code: the
 * validation tool builds each model's deployment with Ray Serve LLM's builder and checks that
 * every override the platform renders names a deployment the builder creates.
 */

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('');
const SUFFIX_CHARS = [...ALNUM, '.', '_', '-'];
/** The whole suffix grammar: 1-64 of [A-Za-z0-9._-], alphanumeric at both ends, no "..". */
const suffixArb = fc
  .tuple(fc.constantFrom(...ALNUM), fc.array(fc.constantFrom(...SUFFIX_CHARS), { maxLength: 62 }), fc.option(fc.constantFrom(...ALNUM), { nil: undefined }))
  .map(([first, middle, last]) => `${first}${middle.join('')}${last ?? ''}`.replace(/\.{2,}/g, '.'))
  .filter((s) => SUFFIX_PATTERN.test(s));
const userArb = fc
  .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')), fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'.split('')), { maxLength: 31 }))
  .map(([first, rest]) => `${first}${rest.join('')}`)
  .filter((u) => USER_ID_PATTERN.test(u));

/** The contract's own examples and the corners of the grammar, always in the sample. */
const VERBATIM = ['qwen-0.5b', 'Qwen2.5-7B-Instruct', 'llama3.1-8b', 'a', '0', 'x'.repeat(64), 'a.b.c.d', 'A_B.c-D', `${'9.'.repeat(31)}9z`];

const settings = { appName: 'argus_llm_app', storageRoot: '/srv/storage', acceleratorType: 'H20' };

describe('Ray accepts the name of every model the API accepts', () => {
  const at = new Date(Date.UTC(2026, 10, 29, 17, 52));
  const sample = fc.sample(fc.tuple(userArb, suffixArb), { numRuns: 150, seed: 20261129 });
  const names = [...VERBATIM.map((s) => ['alice', s] as const), ...sample];

  // Every engine the configuration offers: the stock vLLM server on GPUs, vLLM's CPU build and
  // the CPU stand-in each render differently (server class, accelerator, placement, options).
  it.each(Object.entries(loadConfig({}).serving.llm.engines))('for the %s engine', (_name, engine) => {
    const models = names.map(([user, suffix], i) => {
      const spec = validateServingSpec({ model_id: suffix, model_source: `/private/hf/m${i}` }, { userId: user, allowStandInKnobs: false });
      return renderModelConfig(publicModelId(modelIdPrefix(user, at), spec.model_id_suffix), spec, 'r1', { ...settings, engine });
    });
    const verdict = rayValidates(renderSingleAppBody(renderManagedApplication('argus_llm_app', models), []));
    expect(verdict.output.trim()).toBe('ok');
    // The layout that ships: each model in an app of its own, named after its key, behind the ingress.
    const placements = names.map(([user, suffix], i) => {
      const spec = validateServingSpec({ model_id: suffix, model_source: `/private/hf/m${i}` }, { userId: user, allowStandInKnobs: false });
      const modelKey = newModelKey(user, at);
      return nextPlacement(null, 'replace', { modelKey, modelId: publicModelId(modelIdPrefix(user, at), spec.model_id_suffix), spec, marker: 'r1' }, { ...settings, engine });
    });
    const perModel = rayValidates(renderClusterBody(placements, [], settings));
    expect(perModel.output.trim()).toBe('ok');
  });
});
