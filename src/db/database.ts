import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { startEmbeddedPostgres } from './embedded.js';
import { applyMigrations } from './migrate.js';

export type Db = PrismaClient;

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  /** `embedded` when the service runs its own PGlite. */
  kind: 'postgres' | 'embedded';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** SQL statements Prisma has sent since the database was opened (for /metrics and the bench). */
  statements(): number;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; when absent, an embedded PostgreSQL is started. */
  url?: string;
  /** Folder of the embedded database; undefined keeps it in memory. */
  dataDir?: string;
  poolSize?: number;
  migrate?: boolean;
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
  prisma.$on('query', () => void statements++);
  return {
    prisma,
    pool,
    kind: embedded ? 'embedded' : 'postgres',
    statements: () => statements,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
      await embedded?.stop();
    },
  };
}
