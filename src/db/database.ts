import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { startEmbeddedPostgres } from './embedded.js';
import { Listener, type ListenHandlers } from './listen.js';
import { LocalFeed } from './local-feed.js';
import { applyMigrations } from './migrate.js';
import { traceSqlClient } from '../telemetry.js';

export type Db = PrismaClient;
export type Sql = <Row extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<Row[]>;

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  /** `embedded` when the service runs its own PGlite. */
  kind: 'postgres' | 'embedded';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** SQL statements sent since the database was opened, both paths (for /metrics and the bench). */
  statements(): number;
  /**
   * A statement straight on the pool under Prisma's adapter, for the two reads every request makes
   * (the key lookup and the customer with its settings): Prisma Client's per-query work costs
   * several times the database's own time there (see README, Performance).
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
  poolSize?: number;
  migrate?: boolean;
  /** Where the change feed LISTENs (a session-mode connection); defaults to `url`. */
  listenUrl?: string;
}

/**
 * One driver path for both databases: a pg Pool under Prisma's pg adapter. The embedded database is
 * served on a loopback socket so it is reached exactly like a real server.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const embedded = options.url ? undefined : await startEmbeddedPostgres(options.dataDir);
  const pool = new pg.Pool({
    connectionString: options.url ?? embedded!.url,
    // PGlite runs one statement at a time; more connections only interleave (see embedded.ts).
    max: embedded ? 1 : (options.poolSize ?? 10),
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Each statement a span, when tracing is on (telemetry.ts): every client the pool makes.
  pool.on('connect', (client) => traceSqlClient(client));
  try {
    if (options.migrate !== false) await applyMigrations(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    await embedded?.stop();
    throw error;
  }
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
      else listener = new Listener(url!).add(channel, handlers).start();
    },
    announce: (channel, payload) => local?.notify(channel, payload),
    kind: embedded ? 'embedded' : 'postgres',
    statements: () => statements,
    async sql<Row extends pg.QueryResultRow>(text: string, values: unknown[]) {
      sent(text);
      return (await pool.query<Row>(text, values)).rows;
    },
    onStatement: (listener) => void listeners.add(listener),
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await listener?.stop();
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      await embedded?.stop();
    },
  };
}
