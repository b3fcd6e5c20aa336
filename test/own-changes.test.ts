import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { createServices, type Services } from '../src/boot/services.js';
import type { Database } from '../src/db/database.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';

/**
 * A process's own change to a key (suspend, resume, rename, delete) or to a customer (deactivate,
 * reactivate, delete) applies to that process's very next request, accepted or refused, on either
 * database, whether or not the change feed is up. The key cache lives a minute here, so nothing in
 * these tests passes by an entry expiring: only the write applying its own effects can pass them.
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
const database = onPostgres ? 'PostgreSQL' : 'the embedded database';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const feeds = [
  { feed: 'the change feed up', listen: true },
  // A database whose feed never comes up: the key cache falls back to its TTL (a minute here) and
  // the read cache is bypassed; only the write's own effects can make the next request right.
  { feed: 'the change feed down', listen: false },
] as const;

describe.each(feeds)(`on ${database}, with $feed`, ({ listen }) => {
  let services: Services;
  let http: TestApp['http'];

  beforeAll(async () => {
    const db: Database = listen ? t.database : { ...t.database, listen: () => {} };
    services = createServices(db, { authCacheTtlMs: 60_000, activityFlushMs: 60_000 });
    http = httpClient(createApp(services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }));
    const start = Date.now();
    while (listen && !(services.authenticator.isListening && services.readCache.stats().serving) && Date.now() - start < 5000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(services.authenticator.isListening).toBe(listen);
    expect(services.readCache.stats().serving).toBe(listen);
  });
  afterAll(() => services.activity.stop());

  const self = (key: string) => http('GET', '/customers/self', { key });
  const gqlSelf = async (key: string) =>
    (await http('POST', '/graphql', { key, body: { query: '{ me { name } }' } })).status;
  const changeKey = (customer: string, keyId: string, body: object) =>
    http('PATCH', `/customers/${customer}/apikeys/${keyId}`, { key: t.systemKey, body });

  it('a suspended key is refused on the next request, and a resumed one accepted on the next', async () => {
    const c = await t.customer();
    // Accepted and remembered (a positive entry).
    expect((await self(c.key)).status).toBe(200);
    expect((await self(c.key)).status).toBe(200);

    expect((await changeKey(c.uuid, c.keyId, { active: false })).status).toBe(200);
    expect((await self(c.key)).status).toBe(401);
    expect(await gqlSelf(c.key)).toBe(401); // refused and remembered (a negative entry)

    expect((await changeKey(c.uuid, c.keyId, { active: true })).status).toBe(200);
    expect((await self(c.key)).status).toBe(200);
    expect(await gqlSelf(c.key)).toBe(200);

    // The same through GraphQL, suspended and resumed by the customer's own second key.
    const second = await http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'second' } });
    const { secret, keyId } = (await second.json()) as { secret: string; keyId: string };
    expect(await gqlSelf(secret)).toBe(200);
    const suspend = await http('POST', '/graphql', {
      key: c.key,
      body: { query: `mutation { updateApiKey(customer: "self", key: "${keyId}", input: { active: false }) { active } }` },
    });
    expect(((await suspend.json()) as any).data.updateApiKey.active).toBe(false);
    expect(await gqlSelf(secret)).toBe(401);
    await http('POST', '/graphql', {
      key: c.key,
      body: { query: `mutation { updateApiKey(customer: "self", key: "${keyId}", input: { active: true }) { active } }` },
    });
    expect(await gqlSelf(secret)).toBe(200);
  });

  it('a renamed key is listed by its new name on the next request, and still accepted', async () => {
    const c = await t.customer();
    expect((await http('GET', '/customers/self/apikeys', { key: c.key })).status).toBe(200);
    expect((await changeKey(c.uuid, c.keyId, { name: 'renamed' })).status).toBe(200);
    const keys = (await (await http('GET', '/customers/self/apikeys', { key: c.key })).json()) as { keyId: string; name: string }[];
    expect(keys.find((k) => k.keyId === c.keyId)?.name).toBe('renamed');
  });

  it('a deleted key is refused on the next request, and gone from the list', async () => {
    const c = await t.customer();
    const other = (await (await http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'other' } })).json()) as { secret: string };
    expect((await self(c.key)).status).toBe(200);
    expect((await http('DELETE', `/customers/${c.uuid}/apikeys/${c.keyId}`, { key: t.systemKey })).status).toBe(204);
    expect((await self(c.key)).status).toBe(401);
    expect(await gqlSelf(c.key)).toBe(401);
    const keys = (await (await http('GET', '/customers/self/apikeys', { key: other.secret })).json()) as { keyId: string }[];
    expect(keys.map((k) => k.keyId)).not.toContain(c.keyId);
  });

  it("a deactivated customer's keys get 403 on the next request, and 200 again once it is reactivated", async () => {
    const c = await t.customer();
    expect((await self(c.key)).status).toBe(200);
    const off = await http('POST', '/graphql', {
      key: t.systemKey,
      body: { query: `mutation { updateCustomer(customer: "${c.uuid}", input: { active: false }) { active } }` },
    });
    expect(((await off.json()) as any).data.updateCustomer.active).toBe(false);
    expect((await self(c.key)).status).toBe(403);
    expect(await gqlSelf(c.key)).toBe(403);
    expect((await http('PATCH', `/customers/${c.uuid}`, { key: t.systemKey, body: { active: true } })).status).toBe(200);
    expect((await self(c.key)).status).toBe(200);
  });

  it("a deleted customer is gone on the next request: 404 to the operator, its keys refused", async () => {
    const c = await t.customer();
    expect((await self(c.key)).status).toBe(200);
    expect((await http('GET', `/customers/${c.uuid}`, { key: t.systemKey })).status).toBe(200);
    expect((await http('DELETE', `/customers/${c.uuid}`, { key: t.systemKey })).status).toBe(204);
    expect((await http('GET', `/customers/${c.uuid}`, { key: t.systemKey })).status).toBe(404);
    expect((await http('GET', `/customers/${encodeURIComponent(c.name)}`, { key: t.systemKey })).status).toBe(404);
    expect((await self(c.key)).status).toBe(401);
  });
});
