import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unboundedQuery } from '../src/db/database.js';
import { createTestApp, type TestApp } from './helpers.js';

/** The tenants dialect (contract 4b): the same resources, the platform's older conventions. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function json(res: Response | Promise<Response>) {
  const r = await res;
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

describe('every success is 200 with a body', () => {
  it('a create answers the object: a tenant with its Location, a key with its secret', async () => {
    const tenant = await json(t.http('POST', '/tenants', { key: t.systemKey, body: { name: 'Pied Piper', profile: { a: 1 } } }));
    expect(tenant.status).toBe(200);
    expect(tenant.body).toMatchObject({ name: 'Pied Piper', profile: { a: 1 }, active: true, settings: {}, deletedAt: null });
    expect(tenant.headers.get('location')).toBe(`/tenants/${tenant.body.uuid}`);
    const key = await json(t.http('POST', '/tenants/Pied%20Piper/keys', { key: t.systemKey, body: { name: 'first' } }));
    expect(key).toMatchObject({ status: 200, body: { name: 'first', tenantId: tenant.body.id, secret: expect.stringMatching(/^XI/) } });
  });

  it('a delete answers the object as it was (a setting delete: the settings after it)', async () => {
    const c = await t.customer();
    await t.http('PUT', '/tenants/self/concurrency-limit', { key: c.key, body: { limit: '12' } });
    expect(await json(t.http('DELETE', '/tenants/self/concurrency-limit', { key: c.key }))).toMatchObject({ status: 200, body: { limit: 12 } });
    expect((await json(t.http('DELETE', '/tenants/self/concurrency-limit', { key: c.key }))).status).toBe(404);
    await t.http('PUT', '/tenants/self/settings/concurrency-limit', { key: c.key, body: { value: 3 } });
    expect(await json(t.http('DELETE', '/tenants/self/settings/concurrency-limit', { key: c.key }))).toMatchObject({ status: 200, body: {} });
    const key = await json(t.http("DELETE", `/tenants/${c.uuid}/apikeys/${c.keyId}`, { key: t.systemKey }));
    expect(key).toMatchObject({ status: 200, body: { keyId: c.keyId, active: true, tenantId: c.id } });
  });

  it('the customers dialect keeps 201 and 204', async () => {
    const c = await t.customer();
    expect((await t.http('POST', '/customers/self/keys', { key: c.key, body: { name: 'k' } })).status).toBe(201);
    expect((await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 1 } })).status).toBe(200);
    expect((await t.http('DELETE', '/customers/self/concurrency-limit', { key: c.key })).status).toBe(204);
  });
});

describe('setting values as strings', () => {
  it('"7" sets concurrency-limit to the integer 7 through every door', async () => {
    const c = await t.customer();
    const doors: [string, () => Promise<unknown>][] = [
      ['PUT settings/{name}', () => t.http('PUT', '/tenants/self/settings/concurrency-limit', { key: c.key, body: { value: '7' } })],
      ['POST settings', () => t.http('POST', '/customers/self/settings', { key: c.key, body: { name: 'concurrency-limit', value: '7' } })],
      ['PUT concurrency-limit', () => t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: '7' } })],
      ['GraphQL', () => t.gql(c.key, 'mutation { setCustomerSetting(name: "concurrency-limit", value: "7") { id } }')],
    ];
    for (const [door, write] of doors) {
      await t.database.prisma.setting.deleteMany({ where: { customerId: c.id } });
      await t.services.readCache.sync();
      await write();
      const row = await t.database.prisma.setting.findFirst({ where: { customerId: c.id } });
      expect(row?.value, door).toBe(7);
      expect((await t.gql(c.key, '{ me { settings { concurrencyLimit } } }')).data.me.settings.concurrencyLimit, door).toBe(7);
    }
  });
});

describe('objects carry the platform\'s alternative names', () => {
  it('tenantId on keys and setting entries, updatedAt and id on setting entries; not in the customers dialect', async () => {
    const c = await t.customer();
    const tenants = await json(t.http('PUT', '/tenants/self/settings/concurrency-limit', { key: c.key, body: { value: '5' } }));
    expect(Object.keys(tenants.body)).toEqual(['id', 'tenantId', 'name', 'value', 'createdAt', 'updatedAt', 'modifiedAt']);
    expect(tenants.body).toMatchObject({ tenantId: c.id, value: 5, updatedAt: tenants.body.modifiedAt });
    const customers = await json(t.http('GET', '/customers/self/settings/concurrency-limit', { key: c.key }));
    expect(Object.keys(customers.body)).toEqual(['name', 'value', 'createdAt', 'modifiedAt']);
    const key = await json(t.http('GET', `/tenants/self/keys/${c.keyId}`, { key: c.key }));
    expect(key.body.tenantId).toBe(c.id);
    expect((await json(t.http('GET', `/customers/self/keys/${c.keyId}`, { key: c.key }))).body.tenantId).toBeUndefined();
  });
});

describe('unknown body members are ignored, never applied', () => {
  it('in the tenants dialect, and refused in the customers dialect', async () => {
    const c = await t.customer();
    const body = { profile: { a: 1 }, uuid: '00000000-0000-4000-8000-000000000000', name: 'renamed', colour: 'red', self: true };
    const res = await json(t.http('PATCH', '/tenants/self', { key: c.key, body }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ uuid: c.uuid, name: c.name, profile: { a: 1 } });
    expect(res.body.colour).toBeUndefined();
    const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    expect([row.uuid, row.name]).toEqual([c.uuid, c.name]);
    expect((await t.http('PATCH', '/customers/self', { key: c.key, body })).status).toBe(400);
  });

  it('but the operator\'s fields are still the operator\'s: 403 to a customer key', async () => {
    const c = await t.customer();
    const res = await json(t.http('PATCH', '/tenants/self', { key: c.key, body: { active: false } }));
    expect(res).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });
});

describe('GET /tenants', () => {
  it('pages with limit, as /customers does, with the next page under /tenants', async () => {
    for (let i = 0; i < 3; i++) await t.customer();
    const first = await json(t.http('GET', '/tenants?limit=2', { key: t.systemKey }));
    expect(first.body).toHaveLength(2);
    const next = /^<([^>]+)>; rel="next"$/.exec(first.headers.get('link')!)![1]!;
    expect(next).toMatch(/^\/tenants\?limit=2&after=\d+$/);
    expect((await t.http('GET', '/tenants', { key: (await t.customer()).key })).status).toBe(403);
  });

  it('without limit answers every tenant in one array, in id order, each as GET /tenants/{id} renders it', async () => {
    const all = await json(t.http('GET', '/tenants', { key: t.systemKey }));
    const ids = (await t.database.prisma.customer.findMany({ where: { deletedAt: null }, orderBy: { id: 'asc' } })).map((c) => c.id);
    expect(all.body.map((c: { id: number }) => c.id)).toEqual(ids);
    const one = await json(t.http('GET', `/tenants/${ids[0]}`, { key: t.systemKey }));
    expect(all.body[0]).toEqual(one.body);
  });

  it('streams 100,000 tenants in constant memory: live heap stays far below the size of the answer', async () => {
    // Fill the table to 100,000 customers in one statement, each with a profile and some with a setting.
    const have = await t.database.prisma.customer.count();
    // Bulk statements, longer than a request's statement may run (DB_QUERY_TIMEOUT_MS).
    await unboundedQuery(
      t.database.pool,
      `INSERT INTO customers (uuid, name, profile)
       SELECT gen_random_uuid(), 'bulk customer ' || n, jsonb_build_object('contact-name', 'Contact ' || n, 'contact-email', 'c' || n || '@example.com')
       FROM generate_series(1, $1::int) AS n`,
      [100_000 - have],
    );
    await unboundedQuery(
      t.database.pool,
      `INSERT INTO settings (customer_id, name, value) SELECT id, 'concurrency-limit', to_jsonb(id % 100) FROM customers WHERE id % 3 = 0`,
    );
    await t.services.readCache.sync();
    // Live memory only (garbage collected before each reading), so the figure does not depend on when V8 collects.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().heapUsed;

    const res = await t.http('GET', '/tenants', { key: t.systemKey });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let bytes = 0;
    let peak = 0;
    let chunks = 0;
    let text = '';
    let count = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      // Count the objects without keeping the answer: each tenant has exactly one "uuid" member.
      text = (text + decoder.decode(value, { stream: true })).slice(-64);
      count += (decoder.decode(value).match(/"uuid":/g) ?? []).length;
      if (++chunks % 20 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      }
    }
    expect(text.endsWith('}]')).toBe(true);
    expect(count).toBe(100_000);
    console.info(`GET /tenants: ${count} tenants, ${(bytes / 2 ** 20).toFixed(1)} MiB sent, live heap growth at most ${(peak / 2 ** 20).toFixed(1)} MiB`);
    // Holding the answer, or the rows behind it, would cost at least its size.
    expect(bytes).toBeGreaterThan(25 * 2 ** 20);
    expect(peak).toBeLessThan(10 * 2 ** 20);
  }, 180_000);
});
