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

describe('a create or an update answers 200 with the object; every delete 204 with no body', () => {
  it('a create answers the object: a tenant with its Location, a key with its secret', async () => {
    const tenant = await json(t.http('POST', '/tenants', { key: t.systemKey, body: { name: 'Pied Piper', profile: { a: 1 } } }));
    expect(tenant.status).toBe(200);
    expect(tenant.body).toMatchObject({ name: 'Pied Piper', profile: { a: 1 }, active: true, settings: {}, deletedAt: null });
    expect(tenant.headers.get('location')).toBe(`/tenants/${tenant.body.uuid}`);
    const key = await json(t.http('POST', '/tenants/Pied%20Piper/keys', { key: t.systemKey, body: { name: 'first' } }));
    expect(key).toMatchObject({ status: 200, body: { name: 'first', tenantId: tenant.body.id, secret: expect.stringMatching(/^XI/) } });
  });

  it('every delete (limit, setting, key under /keys and /apikeys by each of its names, tenant) is 204 with no body, and done', async () => {
    const c = await t.customer();
    const empty = async (path: string, key = c.key) => {
      const res = await t.http('DELETE', path, { key });
      expect([res.status, await res.text(), res.headers.get('content-type')], path).toEqual([204, '', null]);
    };
    const db = t.database.prisma;

    await t.http('PUT', '/tenants/self/concurrency-limit', { key: c.key, body: { limit: '12' } });
    await empty('/tenants/self/concurrency-limit');
    expect(await db.setting.count({ where: { customerId: c.id } })).toBe(0);
    expect((await t.http('DELETE', '/tenants/self/concurrency-limit', { key: c.key })).status).toBe(404);

    await t.http('PUT', '/tenants/self/settings/concurrency-limit', { key: c.key, body: { value: 3 } });
    await empty('/tenants/self/settings/concurrency-limit');
    expect(await db.setting.count({ where: { customerId: c.id } })).toBe(0);

    const names = ['keyId', 'id', 'name'] as const;
    for (const segment of ['keys', 'apikeys']) {
      for (const by of names) {
        const created = await json(t.http('POST', `/tenants/self/${segment}`, { key: c.key, body: { name: `${segment}-${by}` } }));
        await empty(`/tenants/self/${segment}/${encodeURIComponent(String(created.body[by]))}`);
        expect((await db.apiKey.findUniqueOrThrow({ where: { keyId: created.body.keyId } })).deletedAt, `${segment} by ${by}`).not.toBeNull();
        expect((await t.http('GET', '/tenants/self', { key: created.body.secret })).status).toBe(401);
      }
    }

    await empty(`/tenants/${c.uuid}`, t.systemKey);
    expect((await db.customer.findUniqueOrThrow({ where: { id: c.id } })).deletedAt).not.toBeNull();
    expect((await t.http('GET', `/tenants/${c.uuid}`, { key: t.systemKey })).status).toBe(404);
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
    const body = { profile: { a: 1 }, uuid: '00000000-0000-4000-8000-000000000000', modifiedAt: 'never', colour: 'red', self: true };
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
    // Fill the table to 100,000 customers, each with a profile and some with a setting.
    const have = await t.database.prisma.customer.count({ where: { deletedAt: null } });
    // Bulk statements, longer than a request's statement may run (DB_QUERY_TIMEOUT_MS). In
    // transactions of 10,000 rows: on a shared PostgreSQL server one long transaction would hold
    // back the event streams of every other test's database (docs/events.md, the watermark).
    for (let from = have + 1; from <= 100_000; from += 10_000) {
      await unboundedQuery(
        t.database.pool,
        `INSERT INTO customers (uuid, name, profile)
         SELECT gen_random_uuid(), 'bulk customer ' || n, jsonb_build_object('contact-name', 'Contact ' || n, 'contact-email', 'c' || n || '@example.com')
         FROM generate_series($1::int, $2::int) AS n`,
        [from, Math.min(from + 9_999, 100_000)],
      );
    }
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

  it('reads each batch by index, however many customers were loaded since the last statistics', async () => {
    // The table the test above filled, with no ANALYZE since: as after any bulk load, and on the
    // embedded database for good (a single backend runs no autovacuum). Planned without the live
    // customers' index, each batch read the whole table and sorted it (7 s for the stream above).
    expect(await t.database.prisma.customer.count()).toBeGreaterThanOrEqual(100_000);
    t.queries.length = 0;
    const res = await t.http('GET', '/tenants', { key: t.systemKey });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const batch = t.queries.find((q) => /WHERE c\.id > \$1 AND c\.deleted_at IS NULL/.test(q));
    expect(batch).toBeDefined();
    const rows = await t.database.sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${batch}`, [50_000, 500]);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index Scan using \w+ on customers/);
    expect(plan).not.toMatch(/Seq Scan on customers/);
  });
});

describe('PUT /tenants/{c}: the same update as PATCH', () => {
  it('merges the profile one member at a time, the others kept, by name, id, uuid or self', async () => {
    const c = await t.customer();
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: { 'contact-name': 'Gavin' } } });
    await t.services.readCache.sync();
    const steps = [
      [c.name, { k1: 'v1' }, { 'contact-name': 'Gavin', k1: 'v1' }],
      [String(c.id), { k2: 'v2' }, { 'contact-name': 'Gavin', k1: 'v1', k2: 'v2' }],
      [c.uuid, { k1: null }, { 'contact-name': 'Gavin', k2: 'v2' }],
      ['self', { k3: { deep: true } }, { 'contact-name': 'Gavin', k2: 'v2', k3: { deep: true } }],
    ] as const;
    for (const [ref, patch, profile] of steps) {
      const res = await json(t.http('PUT', `/tenants/${encodeURIComponent(ref)}`, { key: c.key, body: { profile: patch } }));
      expect(res.status, ref).toBe(200);
      expect(res.body).toMatchObject({ uuid: c.uuid, name: c.name, profile });
      expect((await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).profile, ref).toEqual(profile);
    }
  });

  it('takes the operator fields from a system key, as PATCH does, and refuses them to a customer key', async () => {
    const c = await t.customer();
    const res = await json(t.http('PUT', `/tenants/${c.id}`, { key: t.systemKey, body: { active: false } }));
    expect(res).toMatchObject({ status: 200, body: { active: false } });
    expect((await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).active).toBe(false);
    const other = await t.customer();
    expect(await json(t.http('PUT', '/tenants/self', { key: other.key, body: { billingPlan: null } }))).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });

  it("accepts the tenant's own name sent back, and refuses a different one (400) on PUT and PATCH alike, changing nothing", async () => {
    const c = await t.customer();
    const same = await json(t.http('PUT', '/tenants/self', { key: c.key, body: { name: c.name, profile: { a: 1 } } }));
    expect(same).toMatchObject({ status: 200, body: { name: c.name, profile: { a: 1 } } });
    for (const method of ['PUT', 'PATCH']) {
      const res = await json(t.http(method, '/tenants/self', { key: c.key, body: { name: 'renamed', profile: { b: 2 } } }));
      expect(res, method).toMatchObject({ status: 400, body: { status: false, code: 'BAD_REQUEST', message: expect.stringMatching(/^name: /) } });
      const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
      expect([row.name, row.profile], method).toEqual([c.name, { a: 1 }]);
    }
  });

  it("refuses another customer's tenant (403, nothing changed) and a key without one (401)", async () => {
    const [c, other] = [await t.customer(), await t.customer()];
    for (const ref of [other.uuid, String(other.id), other.name]) {
      const res = await json(t.http('PUT', `/tenants/${encodeURIComponent(ref)}`, { key: c.key, body: { profile: { x: 1 } } }));
      expect(res, ref).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    }
    expect((await t.database.prisma.customer.findUniqueOrThrow({ where: { id: other.id } })).profile).toEqual({});
    expect((await t.http('PUT', '/tenants/self', { body: { profile: { x: 1 } } })).status).toBe(401);
  });

  it('is not a route of the customers dialect, and a key rename by PUT without a key named is 405', async () => {
    const c = await t.customer();
    const customers = await t.http('PUT', '/customers/self', { key: c.key, body: { profile: { x: 1 } } });
    expect(customers.status).toBe(405);
    expect(customers.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE');
    // The platform's first PHP library renames a key by PUT on the list, naming no key: no server can resolve it.
    for (const segment of ['apikeys', 'keys']) {
      const res = await json(t.http('PUT', `/tenants/self/${segment}`, { key: c.key, body: { name: 'renamed' } }));
      expect(res, segment).toMatchObject({ status: 405, body: { code: 'METHOD_NOT_ALLOWED' } });
      expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    }
    expect((await t.database.prisma.apiKey.findUniqueOrThrow({ where: { keyId: c.keyId } })).name).toBe('test');
  });
});

describe('GET /keys/self: who the calling key is', () => {
  const SHAPE = ['id', 'keyId', 'keyName', 'type', 'active', 'tenantId', 'name'];

  it("answers a customer key with its tenant's id and name, under /keys, /apikeys and the tenant's own path; never a secret", async () => {
    const c = await t.customer('Self & Sons/UK');
    const row = await t.database.prisma.apiKey.findUniqueOrThrow({ where: { keyId: c.keyId } });
    const expected = { id: row.id, keyId: c.keyId, keyName: 'test', type: 'customer', active: true, tenantId: c.id, name: c.name };
    for (const path of ['/keys/self', '/apikeys/self', '/tenants/self/keys/self', '/tenants/self/apikeys/self', `/tenants/${c.id}/keys/self`, `/tenants/${encodeURIComponent(c.name)}/apikeys/self`]) {
      const res = await json(t.http('GET', path, { key: c.key }));
      expect(res.status, path).toBe(200);
      expect(Object.keys(res.body), path).toEqual(SHAPE);
      expect(res.body, path).toEqual(expected);
      expect(JSON.stringify(res.body)).not.toContain(c.key);
    }
  });

  it('answers each of a customer\'s keys as itself', async () => {
    const c = await t.customer();
    const second = await json(t.http('POST', '/tenants/self/keys', { key: c.key, body: { name: 'second' } }));
    expect((await json(t.http('GET', '/keys/self', { key: second.body.secret }))).body).toMatchObject({ keyId: second.body.keyId, keyName: 'second', tenantId: c.id });
    expect((await json(t.http('GET', '/keys/self', { key: c.key }))).body).toMatchObject({ keyId: c.keyId, keyName: 'test' });
  });

  it('answers a system key with a null tenant; under a tenant path a system key is not that tenant\'s (404)', async () => {
    const res = await json(t.http('GET', '/keys/self', { key: t.systemKey }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ type: 'system', active: true, tenantId: null, name: null, keyId: expect.stringMatching(/^key_/) });
    const c = await t.customer();
    expect(await json(t.http('GET', `/tenants/${c.uuid}/keys/self`, { key: t.systemKey }))).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it("refuses a call without a key (401), and another customer's tenant path (403)", async () => {
    expect(await json(t.http('GET', '/keys/self'))).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect((await t.http('GET', '/tenants/self/keys/self')).status).toBe(401);
    const [c, other] = [await t.customer(), await t.customer()];
    expect(await json(t.http('GET', `/tenants/${other.uuid}/keys/self`, { key: c.key }))).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });

  it('names the calling key only to read it: PATCH and DELETE of "self" are 405, and the key is untouched', async () => {
    const c = await t.customer();
    for (const path of ['/keys/self', '/tenants/self/keys/self', '/tenants/self/apikeys/self']) {
      expect((await t.http('DELETE', path, { key: c.key })).status, path).toBe(405);
      expect((await t.http('PATCH', path, { key: c.key, body: { active: false } })).status, path).toBe(405);
    }
    expect((await t.http('GET', '/tenants/self', { key: c.key })).status).toBe(200);
  });

  it('leaves the customers dialect as it was: there, self is a key label like any other', async () => {
    const c = await t.customer();
    expect((await t.http('GET', '/customers/self/keys/self', { key: c.key })).status).toBe(404);
    const labelled = await json(t.http('POST', '/customers/self/keys', { key: c.key, body: { name: 'self' } }));
    const res = await json(t.http('GET', '/customers/self/keys/self', { key: c.key }));
    expect(res).toMatchObject({ status: 200, body: { keyId: labelled.body.keyId, name: 'self' } });
    expect((await t.http('DELETE', '/customers/self/keys/self', { key: c.key })).status).toBe(204);
  });
});
