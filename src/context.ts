import { ActivityRecorder } from './activity.js';
import { Authenticator } from './auth/authenticator.js';
import type { Principal } from './auth/principal.js';
import type { Database, Db, Sql } from './db/database.js';
import { createLoaders, type Loaders } from './loaders.js';
import { RateLimiter, type KeyRateLimiter, type RateLimitMode } from './rate-limit.js';
import { SharedRateLimiter } from './shared-rate-limit.js';
import { requestInfo } from './request-info.js';

/** What the whole process shares: built once by main.ts (or a test) and handed to createApp. */
export interface Services {
  db: Db;
  authenticator: Authenticator;
  activity: ActivityRecorder;
  rateLimiter: KeyRateLimiter;
  /** The database pool's connection counts (for /metrics). */
  pool: Pick<Database['pool'], 'totalCount' | 'idleCount' | 'waitingCount'>;
  sql: Sql;
  /** SQL statements sent so far (for /metrics). */
  statements(): number;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

export function createServices(
  database: Database,
  options: {
    authCacheTtlMs: number;
    activityFlushMs: number;
    /** Requests a second per customer key, and the burst; 0 (the default here) turns limiting off. */
    rateLimit?: { perSecond: number; burst: number };
    /** With a Redis URL the limits are shared by every process using it (see shared-rate-limit.ts). */
    redisUrl?: string;
    onRateLimitModeChange?: (mode: RateLimitMode) => void;
    onError?: (error: unknown) => void;
  },
): Services {
  const authenticator = new Authenticator(database.sql, options.authCacheTtlMs);
  database.listen?.('gateway_auth', {
    notify: () => authenticator.invalidate(),
    up: () => authenticator.setListening(true),
    down: () => authenticator.setListening(false),
  });
  return {
    db: database.prisma,
    authenticator,
    activity: new ActivityRecorder(database.prisma, options.activityFlushMs, options.onError).start(),
    rateLimiter: createRateLimiter(options),
    pool: database.pool,
    sql: database.sql,
    statements: () => database.statements(),
    ping: () => database.ping(),
  };
}

function createRateLimiter(options: Parameters<typeof createServices>[1]): KeyRateLimiter {
  const perSecond = options.rateLimit?.perSecond ?? 0;
  const burst = options.rateLimit?.burst ?? 0;
  if (options.redisUrl && perSecond > 0) {
    return new SharedRateLimiter({ url: options.redisUrl, perSecond, burst, onModeChange: options.onRateLimitModeChange });
  }
  return new RateLimiter(perSecond, burst);
}

/** What one authenticated request carries into the services. */
export interface RequestContext {
  db: Db;
  principal: Principal;
  loaders: Loaders;
  authenticator: Authenticator;
}

export function createRequestContext(services: Services, principal: Principal): RequestContext {
  return {
    db: services.db,
    principal,
    loaders: createLoaders(services.db, services.sql),
    authenticator: services.authenticator,
  };
}

/**
 * The one way into the services for both doors: verify the bearer key, apply the key's rate
 * limit, note the activity, and build the request's context. Throws AppError (401, 403, 429).
 */
export async function authenticateRequest(services: Services, request: Request): Promise<RequestContext> {
  const principal = await services.authenticator.authenticate(request.headers.get('authorization'));
  requestInfo(request).keyId = principal.keyId;
  await services.rateLimiter.take(principal);
  services.activity.record(principal);
  return createRequestContext(services, principal);
}
