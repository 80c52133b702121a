import fc from 'fast-check';
import { ApiError } from '../../src/domain/apiError';
import { MODEL_SOURCE_SHAPE, resolveModelSource, toStoragePath } from '../../src/domain/modelSourcePath';

function outcome(raw: string, user = 'alice'): string | number {
  try {
    return resolveModelSource(raw, user);
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('model_source path rules', () => {
  it.each([
    ['/private/hf/Qwen/Qwen2.5-0.5B', '/private/hf/Qwen/Qwen2.5-0.5B'],
    ['$HOME/common/hf/org/model', '/private/hf/org/model'],
    ['$HOME/models/mine', '/private/users/alice/models/mine'],
    ['/private/users/alice/ckpt/', '/private/users/alice/ckpt'],
    ['/private//hf/./a', '/private/hf/a'],
  ])('resolves %s to %s', (raw, expected) => expect(outcome(raw)).toBe(expected));

  it.each([
    ['', 400],
    ['   ', 400],
    ['relative/path', 400],
    ['Qwen/Qwen2.5-0.5B', 400],
    ['/private/hf/../users/bob', 400],
    ['$HOME/../bob', 400],
    ['/private/hf/%2e%2e/users/bob', 400],
    ['/private/hf/a\u0000b', 400],
    ['/private/hf\\..\\users\\bob', 400],
    ['/private/hf/\uff0e\uff0e/users/bob', 400],
    ['/private/hf/caf\u00e9', 400],
    ['$HOMEX/a', 400],
    ['/private/hf/$HOME', 400],
    ['/private/users/bob/model', 403],
    ['/private/users/alice', 403],
    ['/private/hf', 403],
    ['/private/datasets/x', 403],
    ['$HOME/common/datasets/x', 403],
    ['/etc/passwd', 403],
    ['/private', 403],
    ['/privateer/hf/x', 403],
  ])('refuses %j with %i', (raw, status) => expect(outcome(raw)).toBe(status));

  it('maps logical paths under the storage root and nowhere else', () => {
    expect(toStoragePath('/private/hf/demo/tiny', '/srv/storage')).toBe('/srv/storage/hf/demo/tiny');
    expect(() => toStoragePath('/etc/x', '/srv/storage')).toThrow();
  });

  it('never accepts a path outside /private/hf or the caller\'s own directory (property)', () => {
    const segment = fc.oneof(
      fc.constantFrom('..', '.', '', 'hf', 'users', 'alice', 'bob', 'private', '$HOME', 'common', 'datasets', '%2e%2e', '\uff0e\uff0e', '\\..'),
      fc.string({ maxLength: 6 }),
      // Any code point: full-width and other look-alike dots and slashes, NUL, controls, lone surrogates.
      fc.string({ maxLength: 4, unit: 'binary' }),
      fc.constantFrom('\u2024\u2024', '\u2215', '\u002e\u0338', '\u0000', '\ud800', '..\u200b', 'hf\u00a0'),
    );
    const candidate = fc.tuple(fc.constantFrom('', '/', '$HOME', '$HOME/', '/private/', '$HOME/common/hf/'), fc.array(segment, { maxLength: 6 })).map(
      ([start, parts]) => start + parts.join('/'),
    );
    fc.assert(
      fc.property(candidate, (raw) => {
        const result = outcome(raw);
        if (typeof result === 'string') {
          const inside = result.startsWith('/private/hf/') || result.startsWith('/private/users/alice/');
          expect(inside).toBe(true);
          expect(result.split('/')).not.toContain('..');
          expect(toStoragePath(result, '/root').startsWith('/root/')).toBe(true);
        } else {
          expect([400, 403]).toContain(result);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses every path outside the shape the OpenAPI document states (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 30, unit: 'binary' }), fc.string({ maxLength: 30 }).map((t) => `/private/hf/${t}`)), (raw) => {
        if (!MODEL_SOURCE_SHAPE.test(raw)) expect(typeof outcome(raw)).toBe('number');
      }),
      { numRuns: 5000 },
    );
    expect(MODEL_SOURCE_SHAPE.test('$HOME/common/hf/Qwen/Qwen2.5-0.5B')).toBe(true);
    expect(MODEL_SOURCE_SHAPE.test('/private/hf/a%2e')).toBe(false);
  });
});
