import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../src/db/migrate.js';
import { newDatabase } from './databases.js';

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
const run = promisify(execFile);

interface Prepared {
  serviceBundle: string;
  cliBundle: string;
  embeddedImage: string;
  templateDatabase: string;
  drop(): Promise<void>;
}

// Two projects (app, process) name this set-up; it is made once per run and shared: the first asks,
// the last to finish drops what it made.
const shared = globalThis as { gatewayTestSetup?: Promise<Prepared>; gatewayTestUsers?: number };

export default async function setup(project: TestProject) {
  shared.gatewayTestUsers = (shared.gatewayTestUsers ?? 0) + 1;
  const prepared = await (shared.gatewayTestSetup ??= prepare());
  project.provide('serviceBundle', prepared.serviceBundle);
  project.provide('cliBundle', prepared.cliBundle);
  project.provide('embeddedImage', prepared.embeddedImage);
  project.provide('templateDatabase', prepared.templateDatabase);
  return async () => {
    if (--shared.gatewayTestUsers! > 0) return;
    shared.gatewayTestSetup = undefined;
    await prepared.drop();
  };
}

async function prepare(): Promise<Prepared> {
  const out = join(root, 'dist', 'test');
  mkdirSync(out, { recursive: true });
  const bundle = async (entry: string, file: string) => {
    await run(
      join(root, 'node_modules/.bin/esbuild'),
      [entry, '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${file}`, '--log-level=warning'],
      { cwd: root },
    );
    return file;
  };
  // The three are independent: made side by side.
  const [serviceBundle, cliBundle, embeddedImage, template] = await Promise.all([
    bundle('src/main.ts', join(out, 'main.mjs')),
    bundle('src/cli.ts', join(out, 'cli.mjs')),
    migratedEmbeddedImage(join(out, 'embedded-image.tar')),
    templateDatabase(),
  ]);
  return { serviceBundle, cliBundle, embeddedImage, templateDatabase: template.name, drop: template.drop };
}

/** On TEST_DATABASE_URL's server, a migrated database to copy: its name, and how to drop it. */
async function templateDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) return { name: '', drop: async () => {} };
  const template = await newDatabase(base, { prefix: 'gw_template' });
  const pool = new pg.Pool({ connectionString: template.url, max: 1 });
  try {
    await applyMigrations(pool);
  } finally {
    await pool.end();
  }
  return { name: template.name, drop: template.drop };
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
