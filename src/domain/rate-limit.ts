import { AppError } from '../kernel/errors.js';
import { Lru } from '../kernel/lru.js';
import type { Principal } from './auth/principal.js';

/**
 * Where the per-key limits live right now: `local` (this process only, by configuration),
 * `shared` (Redis, across every replica) or `degraded` (Redis is configured but not answering, so
 * this process limits on its own until it answers again).
 */
export type RateLimitMode = 'local' | 'shared' | 'degraded';

/** What a request needs of a rate limiter: take a token or be refused, and where limits live. */
export interface KeyRateLimiter {
  /** Takes one token for the caller, or throws RATE_LIMITED (429) with the seconds to wait. */
  take(principal: Principal): void | Promise<void>;
  mode(): RateLimitMode;
  close(): Promise<void>;
}

/** The contract's 429: the same answer from either limiter. */
export function rateLimited(waitSeconds: number): AppError {
  const wait = Math.max(1, Math.ceil(waitSeconds));
  return new AppError('RATE_LIMITED', `Too many requests for this API key; retry in ${wait} s`, {
    'retry-after': String(wait),
  });
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-key token buckets: each customer key may make `perSecond` requests a second on average and
 * `burst` at once, so one tenant cannot starve the others. System keys (the operator's) are not
 * limited. State is per process, so N processes allow N times the rate (see shared-rate-limit.ts
 * for the Redis-backed limiter replicas share).
 */
export class RateLimiter implements KeyRateLimiter {
  /** At most `maxKeys` buckets, the first made dropped first. */
  private readonly buckets: Lru<number, Bucket>;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    maxKeys = 100_000,
  ) {
    this.buckets = new Lru(maxKeys, { order: 'insertion' });
  }

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  mode(): RateLimitMode {
    return 'local';
  }

  async close(): Promise<void> {}

  take(principal: Principal, now = performance.now()): void {
    if (!this.enabled || principal.type === 'system') return;
    let bucket = this.buckets.get(principal.apiKeyId);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(principal.apiKeyId, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) throw rateLimited((1 - bucket.tokens) / this.perSecond);
    bucket.tokens -= 1;
  }
}
