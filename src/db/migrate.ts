// Applies prisma/migrations/*/migration.sql at start-up: the job of `prisma migrate deploy`, whose
// native schema-engine binary cannot be installed everywhere this service runs. It keeps Prisma's
// own bookkeeping (the `_prisma_migrations` table, same columns, same sha256 checksums), so a
// machine that does have the Prisma CLI sees the same state and can take over at any time.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

// The same key `prisma migrate deploy` locks, so our start-up and a CLI run also exclude each other.
const PRISMA_MIGRATE_LOCK = 72707369;

// Prisma's native engine creates exactly this table (PostgreSQL connector).
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** The folder holding package.json, found from this module whether it runs from src/ or a bundle in dist/. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('Cannot find the project folder (package.json) above the service code');
    dir = up;
  }
  return dir;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Like Prisma, accept the file with LF or CRLF line endings: git may have converted them. */
function matchesChecksum(file: Buffer, checksum: string): boolean {
  const text = file.toString('utf8');
  return [sha256(file), sha256(text.replace(/\r\n/g, '\n')), sha256(text.replace(/\n/g, '\r\n'))].includes(checksum);
}

/**
 * Applies every migration folder not yet recorded as finished, in name order, and returns the
 * names applied. Throws, changing nothing, if the history is not trustworthy: an applied
 * migration's file was edited, or an earlier migration failed halfway (left by the Prisma CLI).
 */
export async function applyMigrations(
  pool: pg.Pool,
  migrationsDir: string = join(projectRoot(), 'prisma', 'migrations'),
): Promise<string[]> {
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && existsSync(join(migrationsDir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort();

  // Everything runs on ONE client: the advisory lock belongs to a session, and the embedded
  // PGlite server accepts a single connection, so asking the pool for a second would hang.
  const client = await pool.connect();
  let broken = false;
  try {
    // Waits while another process migrates; when it gets the lock, that work is visible below.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<{
        migration_name: string;
        checksum: string;
        finished_at: Date | null;
        rolled_back_at: Date | null;
      }>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');

      // A row with neither finished_at nor rolled_back_at is a migration that failed midway (the
      // Prisma CLI leaves those; ours roll back instead). The schema is in an unknown state.
      const failed = rows.filter((r) => !r.finished_at && !r.rolled_back_at).map((r) => r.migration_name);
      if (failed.length) {
        throw new Error(
          `Refusing to migrate: migration(s) ${failed.join(', ')} failed earlier and are not resolved. ` +
            'Fix the database by hand, then mark them with `prisma migrate resolve --rolled-back` or `--applied`.',
        );
      }

      // Rows marked rolled back are only history: such a migration counts as not applied.
      const applied = new Map(rows.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => [r.migration_name, r.checksum]));
      const files = new Map<string, Buffer>();
      for (const name of names) files.set(name, await readFile(join(migrationsDir, name, 'migration.sql')));

      // Check the whole history before applying anything: an edited migration means this database
      // and the files disagree about what the schema is.
      const edited = names.filter((n) => applied.has(n) && !matchesChecksum(files.get(n)!, applied.get(n)!));
      if (edited.length) {
        throw new Error(
          `Refusing to migrate: migration(s) ${edited.join(', ')} were changed after being applied ` +
            `(checksum of migration.sql differs from _prisma_migrations). Restore the original files; put changes in a new migration.`,
        );
      }

      const done: string[] = [];
      for (const name of names.filter((n) => !applied.has(n))) {
        const file = files.get(name)!;
        // One transaction per migration, row included: it is applied and recorded, or neither.
        // (PostgreSQL DDL is transactional; a statement that refuses to run in a transaction,
        // e.g. CREATE INDEX CONCURRENTLY, does not belong in these migrations.)
        try {
          await client.query('BEGIN');
          await client.query(file.toString('utf8')); // no parameters: simple protocol, many statements allowed
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
             VALUES ($1, $2, now(), $3, 1)`,
            [randomUUID(), sha256(file), name],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {
            broken = true; // the connection itself is gone or unusable: drop it rather than reuse it
          });
          throw new Error(`Migration ${name} failed and was rolled back: ${(err as Error).message}`, { cause: err });
        }
        done.push(name);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK]).catch(() => {
        broken = true; // closing the session is what frees the lock then
      });
    }
  } finally {
    client.release(broken);
  }
}
