import { LRUCache, type Perf } from 'lru-cache';
import type { User } from '../db/users';

/** Enough for every active token of a large installation; the least recently used go first. */
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * Token hash -> user for tokens this process has just looked up, so a client sending many
 * requests costs one database lookup per `ttlMs` instead of one per request (as Kubernetes'
 * apiserver caches webhook token reviews). Only tokens that authenticated are kept: an unknown
 * token is checked against the database every time, so a token issued a moment ago works at once
 * and a flood of made-up tokens cannot fill the cache.
 *
 * The trade-off: a token revoked through this process is evicted at once, but one revoked through
 * another API replica keeps working here until its entry expires (at most `ttlMs`). `ttlMs` 0
 * turns the cache off.
 */
export class TokenCache {
  private readonly entries: LRUCache<string, User> | null;

  constructor(ttlMs: number, options: { maxEntries?: number; clock?: Perf } = {}) {
    this.entries =
      ttlMs > 0
        ? new LRUCache<string, User>({
            max: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
            ttl: ttlMs,
            // An entry lives ttlMs from its lookup, however often it is used meanwhile.
            updateAgeOnGet: false,
            // Read the clock on every check (lru-cache otherwise reuses one reading for 1 ms).
            ttlResolution: 0,
            ...(options.clock ? { perf: options.clock } : {}),
          })
        : null;
  }

  get(tokenHash: string): User | undefined {
    return this.entries?.get(tokenHash);
  }

  remember(tokenHash: string, user: User): void {
    this.entries?.set(tokenHash, user);
  }

  evict(tokenHash: string): void {
    this.entries?.delete(tokenHash);
  }
}
