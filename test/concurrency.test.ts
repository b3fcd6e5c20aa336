import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/boot/app.js';
import { createServices, type Services } from '../src/boot/services.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * Many writers on ONE customer at once, through both doors: every write takes the customer's row
 * lock and moves its `modifiedAt` strictly forward, and answers the `modifiedAt` it wrote (GraphQL:
 * the returned customer's; REST: the `X-Modified-At` header). So the acknowledged writes have a
 * total order, and the state left behind must be, for each thing written, the last acknowledged
 * write's. Runs on the embedded database (one connection) and on PostgreSQL (a pool of 10), where
 * the writers are split between two app instances with pools of their own, as two processes would
 * be: there only the row lock orders them (within one process, writes to a customer also queue).
 */
let t: TestApp;
/** On PostgreSQL, a second instance on the same database: another "process". */
let other: { app: App; services: Services; database: Database } | undefined;
beforeAll(async () => {
  t = await createTestApp();
  if (t.database.kind === 'postgres') {
    const database = await openDatabase({ url: t.database.pool.options.connectionString, poolSize: 10, migrate: false });
    const services = createServices(database, { authCacheTtlMs: 0, activityFlushMs: 60_000 });
    other = { app: createApp(services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }), services, database };
  }
});
afterAll(async () => {
  await other?.services.activity.stop();
  await other?.database.close();
  await t.close();
});

/** A request to one of the instances. */
function call(app: App, method: string, path: string, key: string, body?: unknown) {
  return Promise.resolve(
    app.fetch(`http://test${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

const WRITERS = 200;
const LIMIT = 'concurrency-limit';

type Target = 'limit' | 'profile';
interface Ack {
  writer: number;
  via: string;
  target: Target;
  /** The value written; undefined for a removal. */
  value?: number;
  /** The modifiedAt this write answered, in ms. */
  at: number;
}

describe(`${WRITERS} concurrent writers on one customer`, () => {
  it('lose no write and tear none: the final state is the last acknowledged write, modifiedAt only moves forward', async () => {
    const c = await t.customer();
    const keys = [c.key, c.key, t.systemKey];
    const names = ['self', c.uuid, String(c.id), c.name];

    const apps = other ? [t.app, other.app] : [t.app];
    const gql = async (key: string, query: string, variables: Record<string, unknown>, app = t.app) => {
      const res = await call(app, 'POST', '/graphql', key, { query, variables });
      return { status: res.status, body: (await res.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] } };
    };

    /** One write; answers its acknowledgement, or undefined for a removal of what was not there (404). */
    async function write(writer: number): Promise<Ack | undefined> {
      const key = keys[writer % keys.length]!;
      // A system key cannot say "self"; a customer key may use any of its own customer's names.
      const who = key === t.systemKey ? names[1 + (writer % 3)]! : names[writer % names.length]!;
      const path = `/customers/${encodeURIComponent(who)}`;
      const kind = writer % 11;
      const app = apps[writer % apps.length]!;
      const rest = async (method: string, sub: string, body: unknown, target: Target, value?: number): Promise<Ack | undefined> => {
        const res = await call(app, method, path + sub, key, body);
        const text = await res.text();
        const via = `${method} ${sub || '/'}`;
        if (value === undefined && res.status === 404) return undefined;
        if (res.status !== (method === 'DELETE' ? 204 : 200)) {
          throw new Error(`writer ${writer}, ${via}: ${res.status} ${text} ${t.logs.filter((l) => l.includes('unexpected')).join('')}`);
        }
        const at = res.headers.get('x-modified-at');
        expect(at, via).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        if (sub === `/settings/${LIMIT}` && method === 'PUT') {
          // The setting's own modifiedAt (seconds in REST) is the same write's.
          expect(JSON.parse(text).modifiedAt).toBe(`${at!.slice(0, 19)}Z`);
        }
        return { writer, via, target, value, at: Date.parse(at!) };
      };
      const graphql = async (field: string, args: string, variables: Record<string, unknown>, target: Target, value?: number): Promise<Ack | undefined> => {
        const res = await gql(key, `mutation($c: ID!${args ? `, ${args}` : ''}) { ${field} { modifiedAt } }`, { c: who, ...variables }, app);
        const via = field.replace(/\(.*/, '');
        if (value === undefined && res.status === 404 && res.body.errors?.[0]?.extensions?.code === 'NOT_FOUND') return undefined;
        if (res.status !== 200 || res.body.errors) {
          throw new Error(`writer ${writer}, ${via}: ${res.status} ${JSON.stringify(res.body)} ${t.logs.filter((l) => l.includes('unexpected')).join('')}`);
        }
        return { writer, via, target, value, at: Date.parse(res.body.data[via].modifiedAt) };
      };
      switch (kind) {
        case 0:
          return rest('PUT', `/settings/${LIMIT}`, { value: writer }, 'limit', writer);
        case 1:
          return rest('POST', '/settings', { name: LIMIT, value: writer }, 'limit', writer);
        case 2:
          return rest('PUT', '/concurrency-limit', { limit: writer }, 'limit', writer);
        case 3:
          return rest('DELETE', `/settings/${LIMIT}`, undefined, 'limit');
        case 4:
          return rest('DELETE', '/concurrency-limit', undefined, 'limit');
        case 5:
          return graphql(`setCustomerSetting(customer: $c, name: "${LIMIT}", value: $v)`, '$v: JSON', { v: writer }, 'limit', writer);
        case 6:
          return graphql('setConcurrencyLimit(customer: $c, limit: $v)', '$v: Int!', { v: writer }, 'limit', writer);
        case 7:
          return graphql(`removeCustomerSetting(customer: $c, name: "${LIMIT}")`, '', {}, 'limit');
        case 8:
          return graphql('removeConcurrencyLimit(customer: $c)', '', {}, 'limit');
        case 9:
          return rest('PATCH', '', { profile: { writer } }, 'profile', writer);
        default:
          return graphql('updateCustomerProfile(customer: $c, profile: $v)', '$v: JSONObject!', { v: { writer } }, 'profile', writer);
      }
    }

    // A reader polls modifiedAt while the writers run: it may only move forward.
    let writing = true;
    const seen: number[] = [];
    const reader = (async () => {
      while (writing) {
        const res = await gql(c.key, '{ customer { modifiedAt } }', {});
        expect(res.status).toBe(200);
        seen.push(Date.parse(res.body.data.customer.modifiedAt));
        // A read answered from the read cache completes without I/O: let the writers' I/O run, as a
        // real client's network round trip would.
        await new Promise((r) => setImmediate(r));
      }
    })();

    const results = await Promise.all(Array.from({ length: WRITERS }, (_, writer) => write(writer))).finally(() => {
      writing = false;
    });
    await reader;

    const acks = results.filter((ack): ack is Ack => ack !== undefined);
    // Every set and every profile change is acknowledged; removals may find nothing to remove.
    expect(acks.filter((a) => a.value !== undefined).length).toBe(
      Array.from({ length: WRITERS }, (_, w) => w % 11).filter((k) => ![3, 4, 7, 8].includes(k)).length,
    );

    // modifiedAt strictly increases per customer, so no two writes answer the same one.
    const times = acks.map((a) => a.at);
    expect(new Set(times).size).toBe(times.length);

    const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id }, include: { settings: true } });
    // The customer's modifiedAt is the last write's.
    expect(row.modifiedAt.getTime()).toBe(Math.max(...times));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen.at(-1) ?? 0).toBeLessThanOrEqual(row.modifiedAt.getTime());

    const last = (target: Target) => acks.filter((a) => a.target === target).reduce((a, b) => (b.at > a.at ? b : a));
    const lastLimit = last('limit');
    const stored = row.settings.find((s) => s.name === LIMIT);
    if (lastLimit.value === undefined) {
      expect(stored, `last acknowledged: ${lastLimit.via} by writer ${lastLimit.writer} (a removal)`).toBeUndefined();
    } else {
      expect(stored?.value, `last acknowledged: ${lastLimit.via} by writer ${lastLimit.writer}`).toBe(lastLimit.value);
      expect(stored!.modifiedAt.getTime()).toBe(lastLimit.at);
    }
    expect(row.profile).toEqual({ writer: last('profile').value });

    // Both doors read the same final state.
    const limit = await t.http('GET', `/customers/self/concurrency-limit`, { key: c.key });
    expect(limit.status).toBe(lastLimit.value === undefined ? 404 : 200);
    const graph = await gql(c.key, '{ customer { profile settings { concurrencyLimit } modifiedAt } }', {});
    expect(graph.body.data.customer).toEqual({
      profile: { writer: last('profile').value },
      settings: { concurrencyLimit: lastLimit.value ?? null },
      modifiedAt: row.modifiedAt.toISOString(),
    });
    expect(t.logs.filter((line) => /"status":5\d\d|unexpected error/.test(line))).toEqual([]);
  });

  it('moves modifiedAt strictly forward on every write, even when the clock is behind the stored time', async () => {
    const c = await t.customer();
    // As if the clock went back (or another writer's clock ran ahead): the stored time is in the future.
    const ahead = new Date(Date.now() + 3_600_000);
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { modifiedAt: ahead } });
    await t.services.readCache.sync();
    const first = await t.gql(c.key, 'mutation { setConcurrencyLimit(limit: 1) { modifiedAt } }');
    const second = await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 2 } });
    const third = await t.gql(c.key, 'mutation { removeConcurrencyLimit { modifiedAt } }');
    expect(first.data.setConcurrencyLimit.modifiedAt).toBe(new Date(ahead.getTime() + 1).toISOString());
    expect(second.headers.get('x-modified-at')).toBe(new Date(ahead.getTime() + 2).toISOString());
    expect(third.data.removeConcurrencyLimit.modifiedAt).toBe(new Date(ahead.getTime() + 3).toISOString());
  });
});
