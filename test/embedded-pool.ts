import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
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
 * A database is kept only when no connection of the finished file is left on it and it is as the
 * image left it but for its rows and its session: the session is discarded (`DISCARD ALL`: settings,
 * prepared statements, temporary tables, LISTENs, advisory locks), the schema (relations, columns,
 * indexes, functions, triggers, constraints, sequences, policies, rules) is compared with the
 * image's, and every table is emptied and the rows the migrations wrote (their own bookkeeping,
 * the event horizon) put back. A database that fails any of this (a dropped function, a disabled
 * trigger, a reset that does not finish in time) is stopped instead, saying why.
 */
let image: Blob | undefined;
let baseline: Promise<Baseline> | undefined;
const idle: EmbeddedPostgres[] = [];

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
  if (kept) return kept;
  image ??= new Blob([readFileSync(inject('embeddedImage'))]);
  const embedded = await startEmbeddedPostgres(undefined, image);
  try {
    baseline ??= withClient(embedded.url, readBaseline);
    await baseline;
  } catch (error) {
    baseline = undefined;
    await embedded.stop();
    throw error;
  }
  return embedded;
}

/** Hands a database back once the file has closed its own connections: emptied and kept, or stopped. */
export async function giveBackEmbedded(embedded: EmbeddedPostgres): Promise<void> {
  let unfit: string | undefined;
  try {
    // A connection the file left open could write into the next file's database. (A pool that
    // has just ended is seen to close by the server a moment later.)
    for (let waited = 0; embedded.connections() > 0 && waited < 1_000; waited += 10) await sleep(10);
    if (embedded.connections() > 0) unfit = `${embedded.connections()} connection(s) still open`;
    else unfit = await withClient(embedded.url, async (client) => reset(client, await baseline!));
  } catch (error) {
    unfit = `its reset failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (unfit === undefined) {
    idle.push(embedded);
    return;
  }
  console.warn(`test database not kept for the next file (${unfit}); the next one starts from the image`);
  await embedded.stop();
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  // Bounded: a statement queued behind a transaction a finished file left open would wait for ever.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
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
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
     WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT 'row security ' || relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relrowsecurity
    UNION ALL
    SELECT 'policy ' || polname || ' ' || polrelid::regclass FROM pg_policy
    UNION ALL
    SELECT 'rule ' || rulename || ' ' || definition FROM pg_rules WHERE schemaname = 'public'
    UNION ALL
    SELECT 'sequence ' || seqrelid::regclass || ' ' || seqincrement || ' ' || seqmin || ' ' || seqmax FROM pg_sequence
    UNION ALL
    SELECT 'schema ' || nspname FROM pg_namespace
    UNION ALL
    SELECT 'type ' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
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

/** Empties the database back to the image's rows; why not, when its schema is no longer the image's. */
async function reset(client: pg.Client, base: Baseline): Promise<string | undefined> {
  // One session serves every connection of PGlite: leave nothing of a finished file's in it.
  await client.query('ROLLBACK');
  await client.query('DISCARD ALL');
  if ((await client.query<{ schema: string }>(SCHEMA)).rows[0]!.schema !== base.schema) return 'its schema changed';
  await client.query('BEGIN');
  // The same tables as the image's: they are among the relations the schema's fingerprint names.
  await client.query(`TRUNCATE ${base.tables.join(', ')} RESTART IDENTITY CASCADE`);
  for (const [table, rows] of base.rows) {
    await client.query(`INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`, [rows]);
  }
  await client.query('COMMIT');
  return undefined;
}
