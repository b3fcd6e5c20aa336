import { Redis } from 'ioredis';
import { traceRedisClient } from '../kernel/telemetry.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from './auth/principal.js';
import { RateLimiter, rateLimited, type KeyRateLimiter, type RateLimitMode } from './rate-limit.js';

/**
 * The token bucket of rate-limit.ts, kept in Redis so every replica takes from the same bucket. It
 * runs as one Lua script (one round trip; rate-limiter-flexible sends it with EVALSHA through
 * ioredis). Redis's own clock is used, so replicas with skewed clocks still agree.
 *
 * rate-limiter-flexible reads the script's answer as {points consumed, ms before next}: a refused
 * request answers burst + 1 (more than the limiter's `points`, which is the burst), and the wait
 * until one token is back.
 */
function tokenBucketScript(perSecond: number): string {
  return `
local burst = tonumber(ARGV[3])
local rate = ${perSecond} / 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local cost = tonumber(ARGV[1])
local answer
if tokens < cost then
  answer = {burst + 1, math.ceil((cost - tokens) / rate)}
else
  tokens = tokens - cost
  answer = {burst - math.floor(tokens), 0}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return answer`;
}

export interface SharedRateLimiterOptions {
  url: string;
  perSecond: number;
  burst: number;
  /** Called when limits move between shared and per-process (for the log). */
  onModeChange?: (mode: RateLimitMode) => void;
  /** How long one Redis command may take before this request is limited per process instead. */
  commandTimeoutMs?: number;
  /** After a failure, how long limits stay per process without touching Redis. */
  retryMs?: number;
}

/**
 * Shared limits with a per-process fallback: while Redis does not answer (refused, timed out, not
 * yet connected), each request is limited by this process's own buckets instead, and never refused
 * because Redis is away.
 *
 * A breaker keeps a stalled Redis (connected, answering nothing) from slowing every request by the
 * command timeout: after a failure, requests are limited per process for `retryMs` without
 * touching Redis; then one request tries Redis again (the others stay local while it does), and
 * its success makes the limits shared again. A fresh connection (ioredis reconnects by itself after
 * a refusal) closes the breaker at once.
 */
export class SharedRateLimiter implements KeyRateLimiter {
  private readonly redis: Redis;
  private readonly shared: RateLimiterRedis;
  private readonly local: RateLimiter;
  private failing = false;
  /** Until when requests stay per process without trying Redis (the breaker is open). */
  private openUntil = 0;
  /** A request is trying Redis after the back-off: the others do not pile onto a stalled Redis. */
  private probing = false;
  private readonly retryMs: number;
  private lastMode: RateLimitMode;

  constructor(private readonly options: SharedRateLimiterOptions) {
    this.local = new RateLimiter(options.perSecond, options.burst);
    this.retryMs = options.retryMs ?? 1000;
    this.redis = new Redis(options.url, {
      // Fail at once rather than queue while disconnected: the fallback answers instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: 1000,
      // TCP keepalive (initial delay, ms): a Redis that vanished without a reset is found by the
      // kernel rather than never; the breaker bounds what requests pay meanwhile.
      keepAlive: 10_000,
      // Keep trying, at most a second apart, so shared limits resume soon after Redis returns.
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    });
    // Each command a span, when tracing is on (kernel/telemetry.ts).
    traceRedisClient(this.redis);
    // Connection errors are expected while Redis is away; the mode (log, /ready, /metrics) says so.
    this.redis.on('error', () => this.update());
    for (const event of ['close', 'end', 'reconnecting']) this.redis.on(event, () => this.update());
    // A fresh connection: whatever failed before, try the shared buckets again.
    this.redis.on('ready', () => {
      this.openUntil = 0;
      this.setFailing(false);
    });
    this.shared = new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix: 'gateway:rate',
      points: options.burst,
      // Seconds for an empty bucket to fill: the lifetime of an idle key (the script sets it in ms).
      duration: Math.max(1, Math.ceil(options.burst / Math.max(options.perSecond, 0.001))),
      rejectIfRedisNotReady: true,
      customIncrTtlLuaScript: tokenBucketScript(options.perSecond),
    });
    this.lastMode = this.mode();
  }

  mode(): RateLimitMode {
    return this.redis.status === 'ready' && !this.failing ? 'shared' : 'degraded';
  }

  async take(principal: Principal): Promise<void> {
    if (!this.local.enabled || principal.type === 'system') return;
    const now = performance.now();
    // The breaker is open, or another request is finding out whether Redis is back: stay local.
    if (now < this.openUntil || (this.failing && this.probing) || this.redis.status !== 'ready') {
      if (this.redis.status !== 'ready') this.setFailing(true);
      return this.local.take(principal);
    }
    const probe = this.failing;
    if (probe) this.probing = true;
    try {
      // keyId is public and unique across databases, so deployments sharing one Redis do not mix.
      await this.shared.consume(principal.keyId);
      this.setFailing(false);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        this.setFailing(false);
        throw rateLimited(error.msBeforeNext / 1000);
      }
      this.openUntil = performance.now() + this.retryMs;
      this.setFailing(true);
      this.local.take(principal);
    } finally {
      if (probe) this.probing = false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private setFailing(failing: boolean): void {
    if (this.failing === failing) return;
    this.failing = failing;
    this.update();
  }

  private update(): void {
    const mode = this.mode();
    if (mode === this.lastMode) return;
    this.lastMode = mode;
    this.options.onModeChange?.(mode);
  }
}
