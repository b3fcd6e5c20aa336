import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceBundle, emptyDatabase, printedKey, startService, within, type Service } from './processes.js';

/**
 * Two service processes on one PostgreSQL database behave as one service: they start together on
 * an empty database (migrations applied once, one system key printed), and a key suspended,
 * resumed or deleted, or a setting written, through one is seen by the other within a second. The Redis-backed rate limits
 * are in rate-limit-shared.test.ts. Needs a real PostgreSQL (the embedded one serves one process).
 */
const base = process.env.TEST_DATABASE_URL;
if (!base) console.warn('replicas.test.ts skipped: TEST_DATABASE_URL is not set (two processes need a real PostgreSQL)');

describe.skipIf(!base)('two processes on one PostgreSQL database', () => {
  let bundle: string;
  let database: { url: string; drop(): Promise<void> };
  let a: Service;
  let b: Service;
  let systemKey: string;

  beforeAll(async () => {
    bundle = serviceBundle();
    database = await emptyDatabase(base!);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it('start at once on an empty database: migrations applied once, one system key printed, both serve', async () => {
    const env = { DATABASE_URL: database.url, ADMIN_API_KEY: undefined, REDIS_URL: undefined, WORKERS: undefined };
    [a, b] = await Promise.all([startService(bundle, env), startService(bundle, env)]);

    const migrationsDir = join(process.cwd(), 'prisma', 'migrations');
    const folders = readdirSync(migrationsDir).filter((name) => existsSync(join(migrationsDir, name, 'migration.sql')));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const rows = (
      await client.query<{ migration_name: string; finished_at: Date | null; rolled_back_at: Date | null }>(
        'SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name',
      )
    ).rows;
    await client.end();
    expect(rows.map((r) => r.migration_name)).toEqual(folders.sort());
    expect(rows.every((r) => r.finished_at && !r.rolled_back_at)).toBe(true);

    // One of the two created the system key and printed it; the other found it.
    const keys = [printedKey(a.output()), printedKey(b.output())].filter(Boolean);
    expect(keys).toHaveLength(1);
    systemKey = keys[0]!;
    for (const service of [a, b]) {
      expect(service.output()).not.toMatch(/"level":(50|60)/);
      expect((await service.fetch('/ready')).status).toBe(200);
      expect((await service.fetch('/customers?limit=1', { key: systemKey })).status).toBe(200);
    }
  }, 90_000);

  it('a key suspended, resumed and deleted through one is refused, accepted, refused by the other within 1 s; a setting written through one is read by the other within 1 s', async () => {
    const created = await a.fetch('/customers', { method: 'POST', key: systemKey, body: { name: 'Replica Corp' } });
    expect(created.status).toBe(201);
    const first = (await (await a.fetch('/customers/Replica%20Corp/apikeys', { method: 'POST', key: systemKey, body: { name: 'one' } })).json()) as any;
    const second = (await (await a.fetch('/customers/Replica%20Corp/apikeys', { method: 'POST', key: systemKey, body: { name: 'two' } })).json()) as any;
    // B has verified (and cached) the first key before it is revoked.
    expect((await b.fetch('/customers/self', { key: first.secret })).status).toBe(200);

    const answersOnB = (status: number) => async () => (await b.fetch('/customers/self', { key: first.secret })).status === status;
    const keyPath = `/customers/self/apikeys/${first.keyId}`;

    // Suspended through A: refused by B within 1 s; resumed: accepted again; deleted: refused.
    expect((await a.fetch(keyPath, { method: 'PATCH', key: second.secret, body: { active: false } })).status).toBe(200);
    expect(await within(1000, answersOnB(401))).toBe(true);
    expect((await a.fetch(keyPath, { method: 'PATCH', key: second.secret, body: { active: true } })).status).toBe(200);
    expect(await within(1000, answersOnB(200))).toBe(true);
    expect((await a.fetch(keyPath, { method: 'DELETE', key: second.secret })).status).toBe(204);
    expect(await within(1000, answersOnB(401))).toBe(true);
    expect((await a.fetch('/customers/self', { key: first.secret })).status).toBe(401);

    const put = await a.fetch('/customers/self/settings/concurrency-limit', { method: 'PUT', key: second.secret, body: { value: 7 } });
    expect(put.status).toBe(200);
    const readBack = async () => {
      const res = await b.fetch('/customers/self/settings/concurrency-limit', { key: second.secret });
      return res.status === 200 && ((await res.json()) as { value: unknown }).value === 7;
    };
    expect(await within(1000, readBack)).toBe(true);
  });

  it('stop on SIGTERM with exit 0', async () => {
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
  });
});
