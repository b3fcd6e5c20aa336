import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { createServices } from '../src/boot/services.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * With the authentication cache on (as in production), a read costs one SQL statement, and a
 * revocation made by one process reaches another within the cache's TTL.
 */
const TTL = 300;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ authCacheTtlMs: TTL });
});
afterAll(() => t.close());

describe('authentication cache', () => {
  it('reads customer(self) with its settings with no statement once the key is known and the customer held', async () => {
    // A cache lifetime no busy machine outlasts between two requests (the short TTL is for the test below).
    const services = createServices(t.database, { authCacheTtlMs: 60_000, activityFlushMs: 60_000 });
    const app = createApp(services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false });
    const gql = async (key: string, query: string) =>
      (await (
        await app.fetch('http://test/graphql', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        })
      ).json()) as any;
    // The read cache serves once its change feed is up (PostgreSQL's LISTEN; the embedded one's at once).
    for (let i = 0; i < 250 && !services.readCache.stats().serving; i++) await new Promise((r) => setTimeout(r, 20));
    const c = await t.customer();
    await gql(c.key, 'mutation { setConcurrencyLimit(limit: 4) { id } }');
    // The write's own notification comes back through the feed too: let it arrive before the reads.
    await services.readCache.sync();
    await gql(c.key, '{ me { id } }');
    t.queries.length = 0;
    const res = await gql(c.key, '{ customer(id:"self") { uuid name profile settings { concurrencyLimit values } concurrencyLimit { limit } } }');
    expect(res.data.customer.settings.concurrencyLimit).toBe(4);
    expect(t.queries).toHaveLength(0);
    await services.activity.stop();
  });

  it('stops a key revoked through another process within the TTL, and at once on the revoking one', async () => {
    const c = await t.customer();
    // A second app on the same database stands for a second process with its own cache.
    const otherServices = createServices(t.database, { authCacheTtlMs: TTL, activityFlushMs: 60_000 });
    const other = createApp(otherServices, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false });
    const ask = async (app: typeof other) =>
      (
        await app.fetch('http://test/graphql', {
          method: 'POST',
          headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ me { id } }' }),
        })
      ).status;

    expect(await ask(other)).toBe(200);
    const revoked = await t.gql(c.key, `mutation { revokeApiKey(keyId: "${c.keyId}") { keyId } }`);
    expect(revoked.data.revokeApiKey.keyId).toBe(c.keyId);
    expect((await t.gql(c.key, '{ me { id } }')).status).toBe(401);
    await new Promise((r) => setTimeout(r, TTL + 50));
    expect(await ask(other)).toBe(401);
    await otherServices.activity.stop();
  });

  it('refuses the keys of a customer deactivated by the operator at once on this process', async () => {
    const c = await t.customer();
    expect((await t.gql(c.key, '{ me { id } }')).status).toBe(200);
    await t.gql(t.systemKey, `mutation { updateCustomer(customer: "${c.uuid}", input: {active: false}) { active } }`);
    expect((await t.gql(c.key, '{ me { id } }')).status).toBe(403);
  });
});
