import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { insertKey } from '../src/auth/api-keys.js';
import { createServices, type Services } from '../src/services.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * The database goes away under load and comes back: requests fail fast with 503 UNAVAILABLE,
 * /ready says so, and the service recovers by itself with every acknowledged write intact.
 */
let proxy: TcpProxy;
let database: Database;
let services: Services;
let app: App;
let key: string;
let teardown: () => Promise<void>;

beforeAll(async () => {
  let target: string;
  let embedded: EmbeddedPostgres | undefined;
  let owner: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  if (process.env.TEST_DATABASE_URL) {
    owner = await createTestDatabase();
    target = owner.url!;
  } else {
    embedded = await startEmbeddedPostgres();
    target = embedded.url;
  }
  const u = new URL(target);
  proxy = await new TcpProxy(u.hostname, Number(u.port || 5432)).start();
  database = await openDatabase({ url: proxy.rewrite(target), poolSize: embedded ? 1 : 5 });
  services = createServices(database, { authCacheTtlMs: 1000, activityFlushMs: 60_000 });
  app = createApp(services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true });
  const customer = await database.prisma.customer.create({ data: { uuid: crypto.randomUUID(), name: 'faulty' } });
  key = (await insertKey(database.prisma, { name: 'k', type: 'customer', customerId: customer.id })).secret;
  teardown = async () => {
    await services.activity.stop();
    await database.close();
    await proxy.cut();
    await owner?.close();
    await embedded?.stop();
  };
});
afterAll(() => teardown());

async function setLimit(limit: number) {
  const res = await app.fetch('http://test/graphql', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation { setConcurrencyLimit(limit: ${limit}) { concurrencyLimit { limit } } }` }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('database faults', () => {
  it('answers 503 UNAVAILABLE fast while the database is away, and recovers without a restart', async () => {
    let acknowledged = -1;
    for (let i = 1; i <= 5; i++) {
      const r = await setLimit(i);
      expect(r.status).toBe(200);
      acknowledged = i;
    }
    expect((await app.fetch('http://test/ready')).status).toBe(200);

    await proxy.cut();
    // Writes and reads in flight while it is away: none may claim success, each answers quickly.
    const during = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const started = Date.now();
        const r = await setLimit(100 + i);
        return { ...r, ms: Date.now() - started };
      }),
    );
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(r.body.errors[0].extensions.code).toBe('UNAVAILABLE');
      expect(JSON.stringify(r.body)).not.toMatch(/ECONN|prisma|SELECT|UPDATE/i);
      expect(r.ms).toBeLessThan(6000);
    }
    const ready = await app.fetch('http://test/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: false, code: 'UNAVAILABLE' });

    await proxy.restore();
    let recovered = false;
    for (let attempt = 0; attempt < 50 && !recovered; attempt++) {
      recovered = (await app.fetch('http://test/ready')).status === 200;
      if (!recovered) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered).toBe(true);
    const after = await setLimit(acknowledged + 1);
    expect(after.status).toBe(200);
    const row = await database.prisma.setting.findFirstOrThrow({ where: { name: 'concurrency-limit' } });
    expect(row.value).toBe(acknowledged + 1);
  });
});
