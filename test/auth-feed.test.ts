import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { createServices, type Services } from '../src/boot/services.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * On PostgreSQL, a change to a key or a customer's `active` flag made anywhere (here: plain SQL,
 * as the CLI or another process would) empties every service's key cache through LISTEN/NOTIFY,
 * so a revoked key stops working within a second although cache entries otherwise live a minute.
 * The embedded database serves one process, whose own changes are its feed (db/local-feed.ts): up
 * at once; plain SQL is not announced there (own-changes.test.ts covers what is).
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
let t: TestApp;
let other: Services;
beforeAll(async () => {
  t = await createTestApp();
  other = createServices(t.database, { authCacheTtlMs: 60_000, activityFlushMs: 60_000 });
});
afterAll(async () => {
  await other.activity.stop();
  await t.close();
});

async function statusWithin(app: ReturnType<typeof createApp>, key: string, expected: number, ms: number) {
  const until = Date.now() + ms;
  let status = 0;
  do {
    const res = await app.fetch('http://test/customers/self', { headers: { authorization: `Bearer ${key}` } });
    status = res.status;
    if (status === expected) return status;
    await new Promise((r) => setTimeout(r, 25));
  } while (Date.now() < until);
  return status;
}

describe('key change feed', () => {
  it(onPostgres ? 'is up on PostgreSQL' : "is up on the embedded database (the process's own changes)", async () => {
    for (let i = 0; i < 100 && !other.authenticator.isListening; i++) await new Promise((r) => setTimeout(r, 20));
    expect(other.authenticator.isListening).toBe(true);
  });

  it.runIf(onPostgres)('stops a key revoked by plain SQL within a second, and an inactive customer’s keys likewise', async () => {
    const app = createApp(other, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false });
    const a = await t.customer();
    const b = await t.customer();
    expect(await statusWithin(app, a.key, 200, 0)).toBe(200);
    expect(await statusWithin(app, b.key, 200, 0)).toBe(200);

    await t.database.pool.query('UPDATE api_keys SET active = false WHERE key_id = $1', [a.keyId]);
    expect(await statusWithin(app, a.key, 401, 1000)).toBe(401);

    await t.database.pool.query('UPDATE customers SET active = false WHERE id = $1', [b.id]);
    expect(await statusWithin(app, b.key, 403, 1000)).toBe(403);
  });
});
