import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/boot/app.js';
import { insertKey } from '../src/domain/auth/api-keys.js';
import { createServices, type Services } from '../src/boot/services.js';
import { openDatabase, type Database } from '../src/db/database.js';
import type { EmbeddedPostgres } from '../src/db/embedded.js';
import { createLogger } from '../src/boot/logger.js';
import { isDatabaseUnavailable, toAppError } from '../src/kernel/errors.js';
import { giveBackEmbedded, takeEmbedded } from './embedded-pool.js';
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
    embedded = await takeEmbedded();
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
    if (embedded) await giveBackEmbedded(embedded);
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

  it('answers 503 with Retry-After, on both doors, when every pooled connection is taken (pool exhaustion), within the connect timeout', async () => {
    const held = await Promise.all(Array.from({ length: database.pool.options.max }, () => database.pool.connect()));
    try {
      const started = Date.now();
      const [graphql, rest, ready] = await Promise.all([
        app.fetch('http://test/graphql', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ customer(id: "self") { name settings { concurrencyLimit } } }' }),
        }),
        app.fetch('http://test/customers/self/concurrency-limit', { headers: { authorization: `Bearer ${key}` } }),
        app.fetch('http://test/ready'),
      ]);
      const ms = Date.now() - started;
      for (const res of [graphql, rest, ready]) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      // REST and /ready: 503. GraphQL: the field's error says UNAVAILABLE with its 503; the
      // response's own status follows GraphQL over HTTP (a partial result with `data` is 200).
      expect([rest.status, ready.status]).toEqual([503, 503]);
      const body = (await graphql.json()) as any;
      expect(body.errors[0].extensions).toMatchObject({ code: 'UNAVAILABLE', http: { status: 503 } });
      expect([200, 503]).toContain(graphql.status);
      expect(await rest.json()).toMatchObject({ status: false, code: 'UNAVAILABLE' });
      expect(JSON.stringify(body)).not.toMatch(/timeout exceeded|pg-pool|prisma/i);
      // The pool's connect timeout (2 s by default), with room for a loaded machine.
      expect(ms).toBeLessThan(2000 + 2000);
    } finally {
      for (const client of held) client.release();
    }
    expect((await app.fetch('http://test/ready')).status).toBe(200);
    expect((await setLimit(42)).status).toBe(200);
  });
});

describe('which errors mean the database is unavailable', () => {
  it('finds the SQLSTATE or the driver\'s message wherever Prisma nests it, and leaves query errors alone', () => {
    // A terminated backend as Prisma 7 reports it: P2039, 57P01 in meta.driverAdapterError.cause.
    const terminated = Object.assign(new Error('Invalid `prisma.setting.upsert()` invocation: Error in the driver adapter'), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2039',
      meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: '57P01', originalMessage: 'terminating connection due to administrator command', kind: 'postgres' } } },
    });
    const exhausted = new Error('timeout exceeded when trying to connect');
    const readTimeout = Object.assign(new Error('wrapped'), { cause: new Error('Query read timeout') });
    const statementTimeout = Object.assign(new Error('x'), { cause: { code: '57014' } });
    const tooMany = { name: 'DriverAdapterError', cause: { kind: 'TooManyConnections', cause: 'sorry, too many clients already' } };
    for (const error of [terminated, exhausted, readTimeout, statementTimeout, tooMany]) {
      expect(isDatabaseUnavailable(error), JSON.stringify(error)).toBe(true);
      const mapped = toAppError(error);
      expect(mapped.status).toBe(503);
      expect(mapped.headers['retry-after']).toMatch(/^\d+$/);
    }
    const unique = { code: 'P2002', meta: { driverAdapterError: { cause: { originalCode: '23505', kind: 'UniqueConstraintViolation' } } } };
    expect(isDatabaseUnavailable(unique)).toBe(false);
    expect(toAppError(new Error('boom')).status).toBe(500);
  });
});
