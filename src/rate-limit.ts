import { AppError } from './errors.js';
import type { Principal } from './auth/principal.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-key token buckets: each customer key may make `perSecond` requests a second on average and
 * `burst` at once, so one tenant cannot starve the others. System keys (the operator's) are not
 * limited. State is per process, so N processes allow N times the rate.
 */
export class RateLimiter {
  private readonly buckets = new Map<number, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one token for the caller, or throws RATE_LIMITED with the seconds to wait. */
  take(principal: Principal, now = performance.now()): void {
    if (!this.enabled || principal.type === 'system') return;
    let bucket = this.buckets.get(principal.apiKeyId);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(principal.apiKeyId, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    }
    if (bucket.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
      throw new AppError('RATE_LIMITED', `Too many requests for this API key; retry in ${wait} s`, {
        'retry-after': String(wait),
      });
    }
    bucket.tokens -= 1;
  }
}
