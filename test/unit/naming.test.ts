import { MODEL_KEY_PATTERN, modelIdPrefix, newModelKey, publicModelId, SUFFIX_PATTERN, USER_ID_PATTERN } from '../../src/domain/naming';

const at = new Date(Date.UTC(2026, 0, 6, 12, 30, 5));

describe('naming', () => {
  it('builds model keys as svc-<user>-<YYYYMMDD>-<HHMMSS>-<4 chars>', () => {
    let i = 0;
    const key = newModelKey('alice', at, () => [10, 11, 12, 13][i++] as number);
    expect(key).toBe('svc-alice-20260106-123005-abcd');
    expect(MODEL_KEY_PATTERN.test(key)).toBe(true);
  });

  it('draws the random tail from [0-9a-z]', () => {
    for (let n = 0; n < 200; n++) expect(newModelKey('bob', at)).toMatch(/^svc-bob-20260106-123005-[0-9a-z]{4}$/);
  });

  it('builds the public model id from a minute-precision prefix', () => {
    expect(modelIdPrefix('alice', at)).toBe('alice-202601061230');
    expect(publicModelId(modelIdPrefix('alice', at), 'qwen-0.5b')).toBe('alice-202601061230-qwen-0.5b');
  });

  it.each(['qwen-0.5b', 'Qwen2.5_7B', 'a', 'x'.repeat(64)])('accepts suffix %s', (s) => expect(SUFFIX_PATTERN.test(s)).toBe(true));
  it.each(['', 'has space', 'a/b', 'a..b', '..', '.hidden', 'trailing-', 'x'.repeat(65), 'ünï', 'a\\b'])('refuses suffix %j', (s) =>
    expect(SUFFIX_PATTERN.test(s)).toBe(false),
  );
  it.each(['alice', 'team-7', 'u_1'])('accepts user id %s', (u) => expect(USER_ID_PATTERN.test(u)).toBe(true));
  it.each(['Alice', '-x', '', 'a'.repeat(33), 'a.b', 'a/b'])('refuses user id %j', (u) => expect(USER_ID_PATTERN.test(u)).toBe(false));
});
