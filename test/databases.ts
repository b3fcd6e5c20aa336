import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A new database on the PostgreSQL server `base` names, empty or copied from `template`: its name,
 * its URL, and how to drop it. Used by test/global-setup.ts (the migrated template), helpers.ts (each
 * test file's database) and the process tests (an empty one for their services to migrate).
 */
export async function newDatabase(
  base: string,
  options: { prefix?: string; template?: string } = {},
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `${options.prefix ?? 'gw_test'}_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  await run(`CREATE DATABASE ${name}${options.template ? ` TEMPLATE ${options.template}` : ''}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
