import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { createServices, type Services } from '../src/boot/services.js';
import { ReadCache } from '../src/domain/customers/read-cache.js';
import { openDatabase, type Database, type Sql } from '../src/db/database.js';
import type { Customer, Setting } from '../src/generated/prisma/client.js';
import { createLoaders } from '../src/domain/loaders.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';
import { customerRow } from './fixtures.js';

/**
 * Customers, their settings and key lists are read from a per-process cache that the change feed
 * keeps exact (src/domain/customers/read-cache.ts). On both databases: steady-state reads send no SQL, a
 * write here is seen at once, a deleted customer is gone at once, the LRU bound holds. On
 * PostgreSQL: a write anywhere else is seen within a second; with the feed down every read goes to
 * the database. On the embedded database the feed is this process's own writes (db/local-feed.ts).
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  do {
    if (await check()) return true;
    await sleep(10);
  } while (Date.now() < end);
  return check();
}

const customer = (id: number, name?: string): Customer => customerRow(id, name);

describe('the read cache on its own', () => {
  function liveCache(size: number) {
    const cache = new ReadCache(size);
    cache.feed.up();
    return cache;
  }

  it('holds at most its size, dropping the least recently used', () => {
    const cache = liveCache(3);
    for (const id of [1, 2, 3]) cache.fill(cache.ticket(), customer(id), []);
    expect(cache.lookup('id:1')).toBeDefined(); // 1 is now the most recent
    cache.fill(cache.ticket(), customer(4), []);
    expect(cache.stats().size).toBe(3);
    expect(cache.lookup('id:2')).toBeUndefined();
    expect(cache.lookup('name:c2')).toBeUndefined();
    for (const key of ['id:1', 'id:3', 'id:4', 'name:c4', `uuid:${customer(3).uuid}`]) expect(cache.lookup(key)).toBeDefined();
    for (let id = 10; id < 1000; id++) cache.fill(cache.ticket(), customer(id), []);
    expect(cache.stats().size).toBe(3);
  });

  it('does not store a read that raced a change', () => {
    const cache = liveCache(10);
    const ticket = cache.ticket();
    cache.feed.notify('7');
    cache.fill(ticket, customer(7), []);
    expect(cache.lookup('id:7')).toBeUndefined();
    const keysTicket = cache.ticket();
    cache.fill(cache.ticket(), customer(7), []);
    cache.feed.notify('k:7');
    cache.fillKeys(keysTicket, 7, []);
    expect(cache.keys(7)).toBeUndefined();
  });

  it('is emptied and bypassed while the feed is down, and serves again once it is up', () => {
    const cache = liveCache(10);
    cache.fill(cache.ticket(), customer(1), []);
    cache.feed.down();
    expect(cache.lookup('id:1')).toBeUndefined();
    cache.fill(cache.ticket(), customer(1), []);
    expect(cache.stats()).toMatchObject({ size: 0, serving: false });
    cache.feed.up();
    expect(cache.lookup('id:1')).toBeUndefined();
    cache.fill(cache.ticket(), customer(1), []);
    expect(cache.lookup('id:1')).toBeDefined();
    expect(new ReadCache(0).stats().serving).toBe(false);
  });

  it('applies a last_activity-only change in place and drops the customer on any other change', () => {
    const cache = liveCache(10);
    const settings: Setting[] = [];
    cache.fill(cache.ticket(), customer(5), settings);
    const before = cache.lookup('id:5')!.customer;
    cache.feed.notify('a:5:1700000000123');
    const after = cache.lookup('id:5')!;
    expect(after.customer.lastActivity).toEqual(new Date(1700000000123));
    expect(before.lastActivity).toBeNull(); // rows already handed out do not change
    expect(after.settings).toBe(settings);
    cache.feed.notify('5');
    expect(cache.lookup('id:5')).toBeUndefined();
    cache.fill(cache.ticket(), customer(6), []);
    cache.feed.notify('garbage');
    expect(cache.lookup('id:6')).toBeUndefined();
  });
});

describe('reads through the service', () => {
  let t: TestApp;
  let acme: Awaited<ReturnType<TestApp['customer']>>;
  let admin: pg.Client | undefined;

  const readSelf = async () => {
    const gql = await t.gql(acme.key, '{ customer(id: "self") { name profile settings { concurrencyLimit } apiKeys { keyId name active } } }');
    expect(gql.errors).toBeUndefined();
    const rest = await t.http('GET', '/customers/self', { key: acme.key });
    expect(rest.status).toBe(200);
    const settings = await t.http('GET', '/customers/self/settings', { key: acme.key });
    expect(settings.status).toBe(200);
    const keys = await t.http('GET', '/customers/self/apikeys', { key: acme.key });
    expect(keys.status).toBe(200);
    return { gql: gql.data.customer, rest: (await rest.json()) as any, settings: (await settings.json()) as any, keys: (await keys.json()) as any };
  };
  const profileOf = async () => ((await (await t.http('GET', '/customers/self', { key: acme.key })).json()) as any).profile;

  beforeAll(async () => {
    t = await createTestApp();
    acme = await t.customer('Cache Corp');
    if (onPostgres) {
      admin = new pg.Client({ connectionString: (t.database as Database & { url: string }).url });
      await admin.connect();
    }
    expect(await until(() => t.services.readCache.stats().serving, 5000)).toBe(true);
  });
  afterAll(async () => {
    await admin?.end();
    await t.close();
  });

  it('repeated reads of a customer, its settings and keys send no SQL after the first', async () => {
    await readSelf();
    t.queries.length = 0;
    const first = await readSelf();
    expect(first.gql.name).toBe('Cache Corp');
    const before = t.services.readCache.stats();
    for (let i = 0; i < 5; i++) expect(await readSelf()).toEqual(first);
    expect(t.queries).toEqual([]);
    expect(t.services.readCache.stats().hits).toBeGreaterThan(before.hits);
    const metrics = await (await t.http('GET', '/metrics')).text();
    expect(metrics).toMatch(/read_cache_lookups_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/read_cache_customers [1-9]/);
  });

  it('a deleted customer is gone at once, by every identifier, with its keys refused', async () => {
    const doomed = await t.customer();
    const byName = `/customers/${encodeURIComponent(doomed.name)}`;
    for (const path of [`/customers/${doomed.uuid}`, `/customers/${doomed.id}`, byName]) {
      expect((await t.http('GET', path, { key: t.systemKey })).status).toBe(200);
    }
    expect((await t.http('GET', '/customers/self', { key: doomed.key })).status).toBe(200);
    t.queries.length = 0;
    expect((await t.http('GET', byName, { key: t.systemKey })).status).toBe(200);
    expect(t.queries).toEqual([]); // held
    expect((await t.http('DELETE', `/customers/${doomed.uuid}`, { key: t.systemKey })).status).toBe(204);
    for (const path of [`/customers/${doomed.uuid}`, `/customers/${doomed.id}`, byName]) {
      expect((await t.http('GET', path, { key: t.systemKey })).status).toBe(404);
    }
    const gql = await t.gql(t.systemKey, `{ customer(id: "${doomed.uuid}") { name } }`);
    expect(gql.data?.customer ?? null).toBeNull();
    expect((await t.http('GET', '/customers/self', { key: doomed.key })).status).toBe(401);
  });

  it('holds at most READ_CACHE_SIZE customers', async () => {
    const small = createServices(t.database, { authCacheTtlMs: 0, activityFlushMs: 60_000, readCacheSize: 2 });
    const queries: string[] = [];
    t.database.onStatement((text) => queries.push(text));
    try {
      const http = httpClient(createApp(small, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }));
      expect(await until(() => small.readCache.stats().serving, 5000)).toBe(true);
      const names = [];
      for (let i = 0; i < 3; i++) names.push((await t.customer()).name);
      const read = async (name: string) => {
        queries.length = 0;
        const res = await http('GET', `/customers/${encodeURIComponent(name)}`, { key: t.systemKey });
        expect(res.status).toBe(200);
        return queries.filter((q) => /FROM customers/.test(q)).length;
      };
      for (const name of names) expect(await read(name)).toBe(1);
      expect(small.readCache.stats().size).toBe(2);
      expect(await read(names[2]!)).toBe(0);
      expect(await read(names[1]!)).toBe(0);
      expect(await read(names[0]!)).toBe(1); // the least recently used was dropped
      expect(small.readCache.stats().size).toBe(2);
    } finally {
      await small.activity.stop();
    }
  });

  it.skipIf(onPostgres)(
    'on the embedded database, the activity flush moves lastActivity and lastUsedAt in the cache: read with no SQL',
    async () => {
      await readSelf();
      await t.http('GET', '/customers/self', { key: acme.key }); // noted for the flush
      await t.services.activity.flush();
      t.queries.length = 0;
      const res = await t.gql(acme.key, '{ customer(id: "self") { lastActivity apiKeys { keyId lastUsedAt } } }');
      expect(t.queries).toEqual([]);
      const { lastActivity } = (await t.database.prisma.customer.findUniqueOrThrow({ where: { id: acme.id } })) as { lastActivity: Date };
      expect(res.data.customer.lastActivity).toBe(lastActivity.toISOString());
      const key = res.data.customer.apiKeys.find((k: { keyId: string }) => k.keyId === acme.keyId);
      expect(key.lastUsedAt).not.toBeNull();
    },
  );

  it('a second set of services on the same database (another process, as far as it knows) sees this one\'s writes', async () => {
    const other = createServices(t.database, { authCacheTtlMs: 60_000, activityFlushMs: 60_000 });
    try {
      const http = httpClient(createApp(other, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }));
      expect(await until(() => other.readCache.stats().serving, 5000)).toBe(true);
      const limit = async () => ((await (await http('GET', '/customers/self/settings', { key: acme.key })).json()) as any)['concurrency-limit'];
      await limit();
      expect((await t.http('PUT', '/customers/self/settings/concurrency-limit', { key: acme.key, body: { value: 17 } })).status).toBe(200);
      expect(await until(async () => (await limit()) === 17, 1000)).toBe(true);
    } finally {
      await other.activity.stop();
    }
  });

  it('a write through the service is read back at once (before any notification arrives)', async () => {
    // Notifications reach this process only 3 s late during this test: what it reads back right
    // after its own writes cannot have come through the feed.
    const feed = t.services.readCache.feed;
    const notify = feed.notify;
    const held: (string | undefined)[] = [];
    const timers: NodeJS.Timeout[] = [];
    feed.notify = (payload) => {
      held.push(payload);
      timers.push(setTimeout(() => notify(payload), 3000));
    };
    onTestFinished(() => {
      // Deliver what was held back now, so later tests are not surprised by it.
      for (const timer of timers) clearTimeout(timer);
      for (const payload of held) notify(payload);
      feed.notify = notify;
    });
    await readSelf();
    await readSelf();
    expect((await t.http('PUT', '/customers/self/settings/concurrency-limit', { key: acme.key, body: { value: 11 } })).status).toBe(200);
    expect((await readSelf()).gql.settings.concurrencyLimit).toBe(11);
    const patched = await t.http('PATCH', '/customers/self', { key: acme.key, body: { profile: { tier: 'gold' } } });
    expect(patched.status).toBe(200);
    const read = await readSelf();
    expect(read.gql.profile).toEqual({ tier: 'gold' });
    expect(read.rest.profile).toEqual({ tier: 'gold' });
    const created = await t.gql(acme.key, 'mutation { createApiKey(customer: "self", name: "second") { apiKey { keyId } } }');
    expect(created.errors).toBeUndefined();
    const keyId = created.data.createApiKey.apiKey.keyId;
    expect((await readSelf()).gql.apiKeys.map((k: { keyId: string }) => k.keyId)).toContain(keyId);
    expect((await t.http('DELETE', `/customers/self/apikeys/${keyId}`, { key: acme.key })).status).toBe(204);
    expect((await readSelf()).gql.apiKeys.map((k: { keyId: string }) => k.keyId)).not.toContain(keyId);
  });

  describe.skipIf(!onPostgres)('with the change feed (PostgreSQL)', () => {
    let otherDatabase: Database;
    let other: Services;
    let otherHttp: TestApp['http'];

    beforeAll(async () => {
      // Another process: its own pool, its own LISTEN connection, its own caches.
      otherDatabase = await openDatabase({ url: (t.database as Database & { url: string }).url, migrate: false, poolSize: 2 });
      other = createServices(otherDatabase, { authCacheTtlMs: 0, activityFlushMs: 60_000 });
      otherHttp = httpClient(createApp(other, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }));
    });
    afterAll(async () => {
      await other?.activity.stop();
      await otherDatabase?.close();
    });

    it('a write through another process is read within 1 s', async () => {
      await readSelf();
      await readSelf(); // held now
      const put = await otherHttp('PUT', '/customers/self/settings/concurrency-limit', { key: acme.key, body: { value: 23 } });
      expect(put.status).toBe(200);
      const started = Date.now();
      expect(await until(async () => (await readSelf()).gql.settings.concurrencyLimit === 23, 1000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1000);

      const key = await otherHttp('POST', '/customers/self/apikeys', { key: acme.key, body: { name: 'from-b' } });
      expect(key.status).toBe(201);
      expect(await until(async () => (await readSelf()).keys.some((k: { name: string }) => k.name === 'from-b'), 1000)).toBe(true);
    });

    it('a plain SQL change is read within 1 s, and after sync() at once', async () => {
      await readSelf();
      await admin!.query(`UPDATE customers SET profile = '{"via":"sql"}' WHERE id = $1`, [acme.id]);
      expect(await until(async () => JSON.stringify(await profileOf()) === '{"via":"sql"}', 1000)).toBe(true);

      await admin!.query(`UPDATE settings SET value = '31' WHERE customer_id = $1 AND name = 'concurrency-limit'`, [acme.id]);
      await t.services.readCache.sync();
      expect((await readSelf()).gql.settings.concurrencyLimit).toBe(31);

      await admin!.query(`UPDATE api_keys SET name = 'renamed' WHERE key_id = $1`, [acme.keyId]);
      await t.services.readCache.sync();
      expect((await readSelf()).keys.find((k: { keyId: string }) => k.keyId === acme.keyId)?.name).toBe('renamed');

      await admin!.query(`DELETE FROM settings WHERE customer_id = $1`, [acme.id]);
      await t.services.readCache.sync();
      expect((await readSelf()).gql.settings.concurrencyLimit).toBeNull();
    });

    it('the activity flush updates lastActivity in place: the next read sends no SQL and shows it', async () => {
      const at = new Date('2030-01-02T03:04:05.678Z');
      await readSelf();
      await admin!.query(`UPDATE customers SET last_activity = $2 WHERE id = $1`, [acme.id, at]);
      await t.services.readCache.sync();
      t.queries.length = 0;
      const res = await t.gql(acme.key, '{ customer(id: "self") { lastActivity } }');
      expect(res.data.customer.lastActivity).toBe(at.toISOString());
      expect(t.queries).toEqual([]);
    });

    it('with the feed down, every read goes to the database; once it is back, the cache serves again', async () => {
      await readSelf();
      const { rows } = await admin!.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'gateway-feed' AND pid <> pg_backend_pid()`,
      );
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(await until(() => !t.services.readCache.stats().serving, 2000)).toBe(true);

      // No notification can arrive now, yet a plain SQL change is read at once.
      await admin!.query(`UPDATE customers SET profile = '{"feed":"down"}' WHERE id = $1`, [acme.id]);
      expect(await profileOf()).toEqual({ feed: 'down' });
      t.queries.length = 0;
      await readSelf();
      expect(t.queries.length).toBeGreaterThan(0);

      // The listener reconnects (about 1 s): the cache starts empty and serves again.
      expect(await until(() => t.services.readCache.stats().serving, 5000)).toBe(true);
      await admin!.query(`UPDATE customers SET profile = '{"feed":"up"}' WHERE id = $1`, [acme.id]);
      expect(await until(async () => JSON.stringify(await profileOf()) === '{"feed":"up"}', 1000)).toBe(true);
      await readSelf();
      t.queries.length = 0;
      await readSelf();
      expect(t.queries).toEqual([]);
    });

    it('a read that raced a change does not leave the old row behind', async () => {
      const fresh = await t.customer();
      // A loader whose statement's answer is held back until the change has been heard.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slowSql: Sql = async (text, values) => {
        const rows = await t.services.sql(text, values);
        await gate;
        return rows as never;
      };
      const loaders = createLoaders(t.services.db, slowSql, t.services.readCache);
      const pending = loaders.customer.load(`id:${fresh.id}`);
      await sleep(50);
      await admin!.query(`UPDATE customers SET profile = '{"raced":true}' WHERE id = $1`, [fresh.id]);
      await t.services.readCache.sync();
      release();
      expect((await pending)?.profile).toEqual({}); // that request read before the change
      const read = (await (await t.http('GET', '/customers/self', { key: fresh.key })).json()) as any;
      expect(read.profile).toEqual({ raced: true });
    });

    it("the activity flush updates a key's lastUsedAt in place: the key list is read with no SQL and shows it", async () => {
      const at = new Date('2030-02-03T04:05:06.789Z');
      await readSelf();
      await admin!.query(`UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1`, [acme.keyId, at]);
      await t.services.readCache.sync();
      t.queries.length = 0;
      const keys = (await (await t.http('GET', '/customers/self/apikeys', { key: acme.key })).json()) as { keyId: string; lastUsedAt: string }[];
      expect(keys.find((k) => k.keyId === acme.keyId)?.lastUsedAt).toBe('2030-02-03T04:05:06Z');
      expect(t.queries).toEqual([]);
    });

    it('a TRUNCATE of a cached table empties the cache of every process', async () => {
      await t.http('PUT', '/customers/self/settings/concurrency-limit', { key: acme.key, body: { value: 9 } });
      expect((await readSelf()).gql.settings.concurrencyLimit).toBe(9);
      expect(t.services.readCache.stats().size).toBeGreaterThan(0);
      await admin!.query('TRUNCATE settings');
      await t.services.readCache.sync();
      expect(t.services.readCache.stats().size).toBe(0);
      expect((await readSelf()).gql.settings.concurrencyLimit).toBeNull();
    });
  });
});
