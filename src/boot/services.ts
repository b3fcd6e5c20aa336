import { ActivityRecorder } from '../domain/activity.js';
import { Authenticator } from '../domain/auth/authenticator.js';
import type { Database } from '../db/database.js';
import { EventHub } from '../domain/events/hub.js';
import { AUTH_CHANNEL, EVENTS_CHANNEL } from '../domain/events/after-write.js';
import { READ_CACHE_CHANNEL, ReadCache } from '../domain/customers/read-cache.js';
import { RateLimiter, type KeyRateLimiter, type RateLimitMode } from '../domain/rate-limit.js';
import { SharedRateLimiter } from '../domain/shared-rate-limit.js';
import { defaultEventSettings, type EventSettings, type Services } from '../domain/services.js';

export type { EventSettings, Services } from '../domain/services.js';

/**
 * The process's wiring: builds what every request shares (domain/services.ts Services) once, for
 * serve.ts, a test or the CLI, and hands it to createApp.
 */
export function createServices(
  database: Database,
  options: {
    authCacheTtlMs: number;
    activityFlushMs: number;
    /** Requests a second per customer key, and the burst; 0 (the default here) turns limiting off. */
    rateLimit?: { perSecond: number; burst: number };
    /** With a Redis URL the limits are shared by every process using it (see domain/shared-rate-limit.ts). */
    redisUrl?: string;
    onRateLimitModeChange?: (mode: RateLimitMode) => void;
    onError?: (error: unknown) => void;
    events?: Partial<EventSettings>;
    /** Customers the read cache holds at most (READ_CACHE_SIZE); 0 disables it. */
    readCacheSize?: number;
    /** REDIS_TIMEOUT_MS and REDIS_RETRY_MS (domain/shared-rate-limit.ts). */
    redisTimeoutMs?: number;
    redisRetryMs?: number;
    /** How long `ping` (GET /ready) waits for the database (READY_TIMEOUT_MS). */
    readyTimeoutMs?: number;
  },
): Services {
  // The change feed: on PostgreSQL, NOTIFYs from triggers (any writer) on one LISTEN connection; on
  // the embedded database, this process's own announcements (db/local-feed.ts), always up.
  const embedded = database.kind === 'embedded';
  const announce = embedded ? (channel: string, payload: string) => database.announce(channel, payload) : undefined;
  const authenticator = new Authenticator(database.sql, options.authCacheTtlMs);
  database.listen(AUTH_CHANNEL, {
    notify: (payload) => authenticator.notified(payload),
    up: () => authenticator.setListening(true),
    down: () => authenticator.setListening(false),
  });
  // Events committed by any process wake this process's streams by the feed too (this process's own
  // commits also wake them directly).
  const hub = new EventHub();
  database.listen(EVENTS_CHANNEL, {
    notify: (payload) => hub.notified(payload),
    up: () => hub.setFeed(true),
    down: () => hub.setFeed(false),
  });
  // On the embedded database nothing but this process writes, so there is nothing to catch up with:
  // `sync` (for tests and tools that wrote with plain SQL) has every listener start afresh instead.
  const readCache = new ReadCache(
    options.readCacheSize ?? 10_000,
    database.sql,
    announce &&
      (() => {
        announce(READ_CACHE_CHANNEL, '*');
        announce(AUTH_CHANNEL, '*');
      }),
  );
  database.listen(READ_CACHE_CHANNEL, readCache.feed);
  const activity = new ActivityRecorder(database.prisma, options.activityFlushMs, options.onError);
  // PostgreSQL's triggers announce the activity flush's new times; on the embedded database, this process does.
  if (announce) activity.onWritten = (payload) => announce(READ_CACHE_CHANNEL, payload);
  return {
    readCache,
    announce,
    db: database.prisma,
    events: { ...defaultEventSettings, ...options.events, hub },
    authenticator,
    activity: activity.start(),
    rateLimiter: createRateLimiter(options),
    pool: database.pool,
    sql: database.sql,
    statements: () => database.statements(),
    ping: () => database.ping(options.readyTimeoutMs ?? 1000),
  };
}

function createRateLimiter(options: Parameters<typeof createServices>[1]): KeyRateLimiter {
  const perSecond = options.rateLimit?.perSecond ?? 0;
  const burst = options.rateLimit?.burst ?? 0;
  if (options.redisUrl && perSecond > 0) {
    return new SharedRateLimiter({
      url: options.redisUrl,
      perSecond,
      burst,
      onModeChange: options.onRateLimitModeChange,
      commandTimeoutMs: options.redisTimeoutMs,
      retryMs: options.redisRetryMs,
    });
  }
  return new RateLimiter(perSecond, burst);
}
