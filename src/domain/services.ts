import type { ActivityRecorder } from './activity.js';
import type { Authenticator } from './auth/authenticator.js';
import type { Database, Db, Sql } from '../db/database.js';
import type { EventHub } from './events/hub.js';
import type { ReadCache } from './customers/read-cache.js';
import type { KeyRateLimiter } from './rate-limit.js';

/**
 * What every request shares: built once by the process's wiring (boot/services.ts createServices,
 * from boot/serve.ts, a test or the CLI) and handed to the doors. Per-request state is request-context.ts's.
 */
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
  events: EventSettings & { hub: EventHub };
  /** Customers, settings and key lists held in memory, kept exact by the change feed. */
  readCache: ReadCache;
  /** Announces this process's changes to the database's listeners (the embedded database only). */
  announce?: (channel: string, payload: string) => void;
}

/** How events are kept and streamed (kernel/config.ts: EVENT_RETENTION_DAYS, MAX_STREAMS_PER_KEY, SSE_*). */
export interface EventSettings {
  retentionDays: number;
  maxStreamsPerKey: number;
  heartbeatMs: number;
  bufferBytes: number;
}

export const defaultEventSettings: EventSettings = { retentionDays: 90, maxStreamsPerKey: 20, heartbeatMs: 15_000, bufferBytes: 1 << 20 };
