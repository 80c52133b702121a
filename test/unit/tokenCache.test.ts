import { TokenCache } from '../../src/api/tokenCache';

/** A clock the test moves by hand, so expiry is checked without waiting. */
function manualClock() {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const alice = { userId: 'alice', isAdmin: false };
const bob = { userId: 'bob', isAdmin: false };

describe('token cache', () => {
  it('remembers a user until the TTL has passed since the lookup, however often it is read', () => {
    const clock = manualClock();
    const cache = new TokenCache(5_000, { clock });
    cache.remember('hash-a', alice);
    clock.advance(3_000);
    expect(cache.get('hash-a')).toEqual(alice);
    clock.advance(1_999);
    expect(cache.get('hash-a')).toEqual(alice);
    clock.advance(2);
    expect(cache.get('hash-a')).toBeUndefined();
  });

  it('forgets an evicted token at once and keeps the others', () => {
    const cache = new TokenCache(5_000, { clock: manualClock() });
    cache.remember('hash-a', alice);
    cache.remember('hash-b', bob);
    cache.evict('hash-a');
    expect(cache.get('hash-a')).toBeUndefined();
    expect(cache.get('hash-b')).toEqual(bob);
  });

  it('remembers nothing with a TTL of 0', () => {
    const cache = new TokenCache(0, { clock: manualClock() });
    cache.remember('hash-a', alice);
    expect(cache.get('hash-a')).toBeUndefined();
  });

  it('drops the least recently used token when full', () => {
    const cache = new TokenCache(5_000, { maxEntries: 2, clock: manualClock() });
    cache.remember('hash-a', alice);
    cache.remember('hash-b', bob);
    expect(cache.get('hash-a')).toEqual(alice); // a is now the most recently used
    cache.remember('hash-c', bob);
    expect(cache.get('hash-b')).toBeUndefined();
    expect(cache.get('hash-a')).toEqual(alice);
    expect(cache.get('hash-c')).toEqual(bob);
  });
});
