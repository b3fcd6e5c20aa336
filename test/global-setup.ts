import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../src/db/migrate.js';

/**
 * Done once per `vitest run`, before any test file, for what every file would otherwise repeat:
 * - the bundles the process tests spawn (the service, as `npm start` builds it, and the CLI);
 * - a migrated embedded database, dumped to a file: each test file's in-memory database starts
 *   from it in about half a second instead of initdb and every migration (three seconds);
 * - on TEST_DATABASE_URL's server, a migrated template database that each test file's database
 *   is created from.
 * Every test database still runs the migration check at open (db/migrate.ts), and the migrations
 * themselves are applied from nothing by this set-up and by the process tests' empty databases.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    /** The file holding the migrated embedded database's dump. */
    embeddedImage: string;
    /** The migrated template database on TEST_DATABASE_URL's server, or '' without one. */
    templateDatabase: string;
    /** The service bundle (`src/main.ts`) and the operator CLI bundle (`src/cli.ts`). */
    serviceBundle: string;
    cliBundle: string;
  }
}

const root = resolve(import.meta.dirname, '..');

export default async function setup(project: TestProject) {
  // A folder per vitest project: two projects set up at once never write one file.
  const out = join(root, 'dist', 'test', project.name);
  mkdirSync(out, { recursive: true });
  const bundle = (entry: string, file: string) => {
    execFileSync(
      join(root, 'node_modules/.bin/esbuild'),
      [entry, '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${file}`, '--log-level=warning'],
      { cwd: root, stdio: 'inherit' },
    );
    return file;
  };
  project.provide('serviceBundle', bundle('src/main.ts', join(out, 'main.mjs')));
  project.provide('cliBundle', bundle('src/cli.ts', join(out, 'cli.mjs')));

  project.provide('embeddedImage', await migratedEmbeddedImage(join(out, 'embedded-image.tar')));

  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    project.provide('templateDatabase', '');
    return;
  }
  const name = `gw_template_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  try {
    await applyMigrations(pool);
  } finally {
    await pool.end();
  }
  project.provide('templateDatabase', name);
  return async () => {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
}

async function migratedEmbeddedImage(file: string): Promise<string> {
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const pool = new pg.Pool({ connectionString: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`, max: 1 });
  try {
    await applyMigrations(pool);
  } finally {
    await pool.end();
    await server.stop();
  }
  const image = await db.dumpDataDir('none');
  await db.close();
  writeFileSync(file, Buffer.from(await image.arrayBuffer()));
  return file;
}
