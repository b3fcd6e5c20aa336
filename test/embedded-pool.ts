import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';

/**
 * Embedded databases for the test files, started from the migrated image test/global-setup.ts
 * dumped, and kept for the next file when one is handed back. Starting one costs some 0.6 s of CPU
 * (the image is 40 MB of data folder); emptying one a finished file handed back costs a few
 * milliseconds. Test files share a worker's modules (vitest.config.ts: `isolate: false`), so what
 * is kept here serves the worker's later files.
 *
 * A database is kept only when it is as the image left it but for its rows: the schema (tables,
 * columns, functions, triggers, constraints) is compared with the image's, and the rows of the
 * tables the migrations filled (the migrations' own bookkeeping, the event horizon) are put back
 * as they were. Anything else a file changed (a dropped function, a disabled trigger) closes the
 * database instead.
 */
interface Kept {
  embedded: EmbeddedPostgres;
}

let image: Blob | undefined;
let baseline: Promise<Baseline> | undefined;
const idle: Kept[] = [];

interface Baseline {
  schema: string;
  /** The rows of every table that is not empty in the image, as JSON. */
  rows: Map<string, string>;
  /** Every table of the public schema. */
  tables: string[];
}

/** An embedded database as the image holds it: a kept one emptied, or a new one. */
export async function takeEmbedded(): Promise<EmbeddedPostgres> {
  const kept = idle.pop();
  if (kept) return kept.embedded;
  image ??= new Blob([readFileSync(inject('embeddedImage'))]);
  const embedded = await startEmbeddedPostgres(undefined, image);
  baseline ??= withClient(embedded.url, readBaseline);
  await baseline;
  return embedded;
}

/** Hands a database back once the file's pool has closed: emptied and kept, or stopped. */
export async function giveBackEmbedded(embedded: EmbeddedPostgres): Promise<void> {
  let reusable = false;
  try {
    reusable = await withClient(embedded.url, async (client) => reset(client, await baseline!));
  } catch {
    // Whatever failed, the database is not known to be clean.
  }
  if (reusable) idle.push({ embedded });
  else await embedded.stop();
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const SCHEMA = `
  SELECT md5(string_agg(x, E'\\n' ORDER BY x)) AS schema FROM (
    SELECT 'relation ' || c.relname || ' ' || c.relkind::text FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' ' ||
           coalesce(pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'function ' || md5(pg_get_functiondef(p.oid)) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'trigger ' || t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid)
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
     WHERE connamespace = 'public'::regnamespace
  ) AS s(x)`;

const TABLES = `SELECT quote_ident(relname) AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname`;

async function readBaseline(client: pg.Client): Promise<Baseline> {
  const schema = (await client.query<{ schema: string }>(SCHEMA)).rows[0]!.schema;
  const tables = (await client.query<{ name: string }>(TABLES)).rows.map((r) => r.name);
  const rows = new Map<string, string>();
  for (const table of tables) {
    const { rows: [found] } = await client.query<{ rows: string | null }>(`SELECT json_agg(t)::text AS rows FROM ${table} t`);
    if (found?.rows) rows.set(table, found.rows);
  }
  return { schema, rows, tables };
}

/** Empties the database back to the image's rows; false when its schema is no longer the image's. */
async function reset(client: pg.Client, base: Baseline): Promise<boolean> {
  // One session serves every connection of PGlite: leave nothing of a finished file's in it.
  await client.query('ROLLBACK');
  await client.query('RESET ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all()');
  if ((await client.query<{ schema: string }>(SCHEMA)).rows[0]!.schema !== base.schema) return false;
  const tables = (await client.query<{ name: string }>(TABLES)).rows.map((r) => r.name);
  if (tables.join() !== base.tables.join()) return false;
  await client.query('BEGIN');
  await client.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
  for (const [table, rows] of base.rows) {
    await client.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [rows]);
  }
  await client.query('COMMIT');
  return true;
}
