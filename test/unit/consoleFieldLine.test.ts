import fc from 'fast-check';
import YAML from 'yaml';
import { lineOfField } from '../../console/src/spec/fieldLine';

/** The console marks the line of the field an API error names (`error.field`) in the YAML the user typed. */
describe('lineOfField', () => {
  const spec = ['model_id: qwen-0.5b', '# a comment', 'model_source: $HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct', 'autoscaling:', '  min_replicas: 0', '  max_replicas: 4', 'env: {VLLM_ALLOW_RUNTIME_LORA_UPDATING: "true"}', ''].join('\n');

  it.each([
    ['model_id', 1],
    ['model_source', 3],
    ['autoscaling', 4],
    ['autoscaling.max_replicas', 6],
    ['env.VLLM_ALLOW_RUNTIME_LORA_UPDATING', 7],
    ['autoscaling.idle_timeout_s', 4], // not there: its parent's line
    ['num_replicas', null], // missing altogether
  ])('%s is on line %p', (field, line) => {
    expect(lineOfField(spec, field)).toBe(line);
  });

  it('is null for text that is not a mapping, and never throws on broken YAML', () => {
    expect(lineOfField('- a\n- b\n', 'model_id')).toBeNull();
    expect(lineOfField('model_id: [unclosed\n', 'model_id')).toBe(1);
    expect(lineOfField('', 'model_id')).toBeNull();
  });

  it('finds every top-level and nested key of any spec-shaped mapping, wherever it is written', () => {
    const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);
    const scalar = fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.boolean());
    const mapping = fc.dictionary(key, fc.oneof(scalar, fc.dictionary(key, scalar, { minKeys: 1, maxKeys: 4 })), { minKeys: 1, maxKeys: 8 });
    fc.assert(
      fc.property(mapping, fc.boolean(), (doc, flow) => {
        const text = YAML.stringify(doc, { collectionStyle: flow ? 'flow' : 'block', lineWidth: 0 });
        const lines = text.split('\n');
        for (const [name, value] of Object.entries(doc)) {
          const line = lineOfField(text, name);
          expect(line).not.toBeNull();
          expect(lines[(line as number) - 1]).toContain(name);
          if (typeof value === 'object' && value !== null) {
            for (const inner of Object.keys(value)) {
              const innerLine = lineOfField(text, `${name}.${inner}`) as number;
              expect(innerLine).toBeGreaterThanOrEqual(line as number);
              expect(lines[innerLine - 1]).toContain(inner);
            }
          }
        }
      }),
    );
  });
});
