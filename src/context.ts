import { ActivityRecorder } from './activity.js';
import { Authenticator } from './auth/authenticator.js';
import type { Principal } from './auth/principal.js';
import type { Database, Db } from './db/database.js';
import { createLoaders, type Loaders } from './loaders.js';

/** What the whole process shares: built once by main.ts (or a test) and handed to createApp. */
export interface Services {
  db: Db;
  authenticator: Authenticator;
  activity: ActivityRecorder;
  /** The database pool's connection counts (for /metrics). */
  pool: Pick<Database['pool'], 'totalCount' | 'idleCount' | 'waitingCount'>;
  /** SQL statements sent so far (for /metrics). */
  statements(): number;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

export function createServices(
  database: Database,
  options: { authCacheTtlMs: number; activityFlushMs: number; onError?: (error: unknown) => void },
): Services {
  return {
    db: database.prisma,
    authenticator: new Authenticator(database.prisma, options.authCacheTtlMs),
    activity: new ActivityRecorder(database.prisma, options.activityFlushMs, options.onError).start(),
    pool: database.pool,
    statements: () => database.statements(),
    ping: () => database.ping(),
  };
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
    loaders: createLoaders(services.db),
    authenticator: services.authenticator,
  };
}
