import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { KEEPALIVE } from './keepalive.js';
import { Listener, type ListenHandlers } from './listen.js';
import { LocalFeed } from './local-feed.js';
import { applyMigrations } from './migrate.js';
import { traceSqlClient } from '../kernel/telemetry.js';

export type Db = PrismaClient;
export type Sql = <Row extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<Row[]>;

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  /** `embedded` when the service runs its own PGlite. */
  kind: 'postgres' | 'embedded';
  /** Resolves when the database answers a trivial query; rejects after `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  /** SQL statements sent since the database was opened, both paths (for /metrics and the bench). */
  statements(): number;
  /**
   * A statement straight on the pool under Prisma's adapter, for the two reads every request makes
   * (the key lookup and the customer with its settings): Prisma Client's per-query work costs
   * several times the database's own time there (see docs/performance.md).
   */
  sql: Sql;
  /**
   * Hears a change feed's channel. On PostgreSQL: LISTEN on a connection of its own (triggers
   * NOTIFY at commit, whoever wrote), stopped by `close`. On the embedded database: the process's
   * own announcements (`announce`), the only writes its guarded data directory can see.
   */
  listen(channel: string, handlers: ListenHandlers): void;
  /**
   * Tells the listeners of a channel of a change this process made. The embedded database only
   * (db/local-feed.ts); on PostgreSQL the triggers do it at commit, so this does nothing there.
   */
  announce(channel: string, payload: string): void;
  /** Calls `listener` with the text of every statement sent (tests count them). */
  onStatement(listener: (text: string) => void): void;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; when absent, an embedded PostgreSQL is started. */
  url?: string;
  /** Folder of the embedded database; undefined keeps it in memory. */
  dataDir?: string;
  /** A dumped data folder (PGlite's `dumpDataDir`) the embedded database starts from. */
  image?: Blob;
  /**
   * An embedded database already started, which the caller stops (`close` leaves it running): the
   * tests hand a finished file's database, emptied, to the next file instead of starting another.
   */
  embedded?: EmbeddedPostgres;
  poolSize?: number;
  migrate?: boolean;
  /** Where the change feed LISTENs (a session-mode connection); defaults to `url`. */
  listenUrl?: string;
  /** Bounds on waits (kernel/config.ts DB_CONNECT_TIMEOUT_MS, DB_QUERY_TIMEOUT_MS, FEED_TIMEOUT_MS). */
  timeouts?: Partial<DatabaseTimeouts>;
}

export interface DatabaseTimeouts {
  /** Waiting for a pooled connection, or opening a new one. */
  connectMs: number;
  /** One statement's answer: pg's query_timeout on the client, statement_timeout on the server. */
  queryMs: number;
  /** The change feed's staleness bound (db/listen.ts). */
  feedMs: number;
}

export const defaultTimeouts: DatabaseTimeouts = { connectMs: 2000, queryMs: 2000, feedMs: 2000 };
/** The longest a request waits for the embedded database's one connection (see the pool below). */
export const EMBEDDED_QUEUE_MS = 30_000;


/**
 * One statement without the request bounds, on a pooled connection: for bulk work that rightly runs
 * longer than any request's statement (seeding the bench, test set-up), never for a request.
 */
export async function unboundedQuery<Row extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('SET statement_timeout = 0');
    // pg reads a query's own query_timeout before the pool's; 0 would mean "the pool's".
    return await client.query<Row>({ text, values, query_timeout: 24 * 3_600_000 } as pg.QueryConfig);
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    // Back to the session's start-up value (DB_QUERY_TIMEOUT_MS) before the connection is reused.
    await client.query('RESET statement_timeout').catch(() => (broken = true));
    client.release(broken);
  }
}

/**
 * One driver path for both databases: a pg Pool under Prisma's pg adapter. The embedded database is
 * served on a loopback socket so it is reached exactly like a real server.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  // The embedded database this call starts, and so stops at `close`.
  const own = options.url || options.embedded ? undefined : await startEmbeddedPostgres(options.dataDir, options.image);
  const embedded = options.url ? undefined : (options.embedded ?? own);
  const timeouts = { ...defaultTimeouts, ...options.timeouts };
  const connectionString = options.url ?? embedded!.url;
  try {
    // Migrations run on a connection of their own, without the statement timeouts: a migration
    // may rightly take longer than any request's statement. It is closed before the pool opens
    // one (the embedded database serves one connection at a time).
    if (options.migrate !== false) {
      const migrator = new pg.Pool({ connectionString, max: 1, connectionTimeoutMillis: 30_000, ...KEEPALIVE });
      migrator.on('error', () => {});
      try {
        await applyMigrations(migrator);
      } finally {
        await migrator.end().catch(() => {});
      }
    }
  } catch (error) {
    await own?.stop();
    throw error;
  }
  const pool = new pg.Pool({
    connectionString,
    // PGlite runs one statement at a time; more connections only interleave (see embedded.ts).
    max: embedded ? 1 : (options.poolSize ?? 10),
    // Every wait is bounded (docs/operations.md, Deployment notes): a free connection, a new one, an answer.
    // The embedded database is in this process, reached over loopback: no link can stall, and its
    // one connection is a queue that a burst of writes lengthens (200 at once take seconds), so
    // there the wait for it is bounded by EMBEDDED_QUEUE_MS instead.
    connectionTimeoutMillis: embedded ? Math.max(timeouts.connectMs, EMBEDDED_QUEUE_MS) : timeouts.connectMs,
    query_timeout: timeouts.queryMs,
    // The server gives up too (57014), releasing its locks, when the statement itself is slow;
    // query_timeout covers an answer that never comes back at all (a stalled link).
    // PGlite has one session for every connection, where a SET would outlive its connection.
    ...(embedded ? {} : { statement_timeout: timeouts.queryMs }),
    idleTimeoutMillis: 30_000,
    ...KEEPALIVE,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Each statement a span, when tracing is on (kernel/telemetry.ts): every client the pool makes.
  pool.on('connect', (client) => traceSqlClient(client));
  // Query events are how statements are counted; emitting them costs little next to the query.
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool), log: [{ emit: 'event', level: 'query' }] });
  let statements = 0;
  const listeners = new Set<(text: string) => void>();
  const sent = (text: string) => {
    statements++;
    for (const listener of listeners) listener(text);
  };
  prisma.$on('query', (event) => sent(event.query));
  // One LISTEN connection for every channel, made on the first `listen`. LISTEN needs a session of
  // its own: through a transaction-mode pooler it would hear nothing (LISTEN_DATABASE_URL).
  let listener: Listener | undefined;
  const url = options.url ? (options.listenUrl ?? options.url) : undefined;
  const local = url ? undefined : new LocalFeed();
  return {
    prisma,
    pool,
    listen: (channel, handlers) => {
      if (local) local.add(channel, handlers);
      else if (listener) listener.add(channel, handlers);
      else listener = new Listener(url!, { timeoutMs: timeouts.feedMs, connectMs: timeouts.connectMs }).add(channel, handlers).start();
    },
    announce: (channel, payload) => local?.notify(channel, payload),
    kind: embedded ? 'embedded' : 'postgres',
    statements: () => statements,
    async sql<Row extends pg.QueryResultRow>(text: string, values: unknown[]) {
      sent(text);
      return (await pool.query<Row>(text, values)).rows;
    },
    onStatement: (listener) => void listeners.add(listener),
    async ping(timeoutMs = timeouts.connectMs + timeouts.queryMs) {
      // Bounded here too, so /ready answers in time whatever the pool is waiting on.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('Query read timeout: the database did not answer in time')), timeoutMs);
      });
      try {
        await Promise.race([pool.query('SELECT 1'), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await listener?.stop();
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      await own?.stop();
    },
  };
}
