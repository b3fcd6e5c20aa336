import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './helpers.js';
import { cliBundle, migratedDataDir } from './processes.js';

const run = promisify(execFile);

/**
 * The operator's CLI, against a real database (TEST_DATABASE_URL) or an embedded data folder that
 * holds the migrated database (a first start on an empty folder is test/start.test.ts's: the CLI
 * opens the database the same way, db/database.ts).
 */
let env: NodeJS.ProcessEnv;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  env = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  if (process.env.TEST_DATABASE_URL) {
    const database = await createTestDatabase();
    env.DATABASE_URL = database.url;
    // The CLI opens its own connections; keep the database until the end, then drop it.
    await database.pool.end().catch(() => {});
    cleanup = () => database.close();
  } else {
    const dir = migratedDataDir('gateway-cli-');
    env.DATA_DIR = dir;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
});
afterAll(() => cleanup());

async function cli(...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, [cliBundle(), ...args], { env });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout + e.stderr };
  }
}

describe('operator CLI', () => {
  it('creates a customer, issues, lists and revokes a key', async () => {
    const created = await cli('customer:create', 'Globex', '--billing-plan', '{"concurrency":4}');
    expect(created.code).toBe(0);
    const customer = JSON.parse(created.stdout);
    expect(customer.name).toBe('Globex');

    const issued = await cli('key:create', customer.uuid, '--name', 'ops');
    expect(issued.code).toBe(0);
    const secret = /secret \(shown once\): (XI[A-Za-z0-9]{32})/.exec(issued.stdout)?.[1];
    const keyId = /keyId (key_\w+)/.exec(issued.stdout)?.[1];
    expect(secret).toBeDefined();

    const listed = await cli('key:list', 'Globex');
    expect(listed.stdout).toContain(`${keyId}\tactive\tops`);
    expect(listed.stdout).not.toContain(secret);

    expect((await cli('key:revoke', keyId!)).code).toBe(0);
    expect((await cli('key:list', 'Globex')).stdout).not.toContain(keyId);
    expect((await cli('customer:list')).stdout).toMatch(/\tactive\tGlobex/);
  }, 180_000);

  it('refuses bad input with a message and exit code 1', async () => {
    const dup = await cli('customer:create', '12345');
    expect(dup.code).toBe(1);
    expect(dup.stdout).toContain('may not be all digits');
    const unknown = await cli('key:revoke', 'key_missing');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('No live key has keyId key_missing');
  }, 120_000);
});
