import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import type { Services } from '../src/boot/services.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';
import { createRestClient, type RestResult } from './rest-client.js';

/** Every REST route: success, authentication, authorization, missing things and bad bodies. */
let t: TestApp;
let rest: Awaited<ReturnType<typeof createRestClient>>['rest'];
let document: any;
beforeAll(async () => {
  t = await createTestApp();
  ({ rest, document } = await createRestClient(t));
});
afterAll(() => t.close());

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const CUSTOMER_FIELDS = ['name', 'uuid', 'id', 'profile', 'active', 'createdAt', 'modifiedAt', 'settings', 'lastActivity', 'billingPlan', 'deletedAt'];

function expectError(res: RestResult, status: number, code: string, message?: RegExp | string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ status: false, code });
  if (message) expect(res.body.message).toMatch(message);
}

describe('GET /customers/{customer}', () => {
  it('answers the customer in the reference shape and order of fields', async () => {
    const c = await t.customer();
    const res = await rest('GET', '/customers/self', { key: c.key });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(CUSTOMER_FIELDS);
    expect(res.body).toMatchObject({ name: c.name, uuid: c.uuid, id: c.id, profile: {}, active: true, settings: {}, lastActivity: null, billingPlan: null });
    expect(res.body.createdAt).toMatch(TIMESTAMP);
    expect(res.body.modifiedAt).toMatch(TIMESTAMP);
  });

  it('renders lastActivity in seconds precision once activity is written', async () => {
    const c = await t.customer();
    await rest('GET', '/customers/self', { key: c.key });
    await t.services.activity.flush();
    const res = await rest('GET', '/customers/self', { key: c.key });
    expect(res.body.lastActivity).toMatch(TIMESTAMP);
  });

  it('names the same customer by self, uuid (any case), id and URI-encoded name', async () => {
    const c = await t.customer('Acme Corp/EU');
    for (const id of ['self', c.uuid, c.uuid.toUpperCase(), String(c.id), 'Acme%20Corp%2FEU']) {
      const res = await rest('GET', `/customers/${id}`, { key: c.key });
      expect(res.status, id).toBe(200);
      expect(res.body.uuid).toBe(c.uuid);
    }
  });

  it.each(['Acme Corp/US', '100% pure', 'Café Zürich', 'a+b=c?d#e', 'Ωmega 東京', 'x%2Fy', '..x', ' spaced '])(
    'round-trips the name %j through a path, decoded exactly once',
    async (name) => {
      const created = await rest('POST', '/customers', { key: t.systemKey, body: { name } });
      expect(created.status).toBe(201);
      const res = await rest('GET', `/customers/${encodeURIComponent(name)}`, { key: t.systemKey });
      expect(res.status).toBe(200);
      expect(res.body.name).toBe(name);
    },
  );

  it('is 401 without a key, with a malformed one and with an unknown one', async () => {
    expectError(await rest('GET', '/customers/self'), 401, 'UNAUTHENTICATED');
    expectError(await rest('GET', '/customers/self', { headers: { authorization: 'Basic abc' } }), 401, 'UNAUTHENTICATED');
    expectError(await rest('GET', '/customers/self', { key: `XI${'a'.repeat(32)}` }), 401, 'UNAUTHENTICATED');
  });

  it("is 403 for an inactive customer's key", async () => {
    const c = await t.customer(undefined, { active: false });
    expectError(await rest('GET', '/customers/self', { key: c.key }), 403, 'FORBIDDEN');
  });

  it('is 404 for a system key naming no customer, and 400 for "self" with a system key', async () => {
    expectError(await rest('GET', '/customers/no-such-customer', { key: t.systemKey }), 404, 'NOT_FOUND');
    expectError(await rest('GET', '/customers/999999', { key: t.systemKey }), 404, 'NOT_FOUND');
    expectError(await rest('GET', '/customers/self', { key: t.systemKey }), 400, 'BAD_REQUEST', /system key/);
  });

  it('is 400 for a segment that is not valid percent-encoding', async () => {
    expectError(await rest('GET', '/customers/%E0%A4%A', { key: t.systemKey }), 400, 'BAD_REQUEST', /percent-encoded/);
    expectError(await rest('GET', '/customers/%zz', { key: t.systemKey }), 400, 'BAD_REQUEST');
  });
});

describe('PATCH /customers/{customer}', () => {
  it('lets the owner merge into its profile: members named change, null removes, the others stay', async () => {
    const c = await t.customer();
    const first = await rest('PATCH', '/customers/self', { key: c.key, body: { profile: { 'contact-name': 'Ada', 'contact-email': 'ada@example.com' } } });
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(CUSTOMER_FIELDS);
    expect(first.body.profile).toEqual({ 'contact-name': 'Ada', 'contact-email': 'ada@example.com' });
    const second = await rest('PATCH', `/customers/${c.uuid}`, { key: c.key, body: { profile: { note: 'x', 'contact-email': null } } });
    expect(second.body.profile).toEqual({ 'contact-name': 'Ada', note: 'x' });
    const emptied = await rest('PATCH', '/customers/self', { key: c.key, body: { profile: null } });
    expect(emptied.body.profile).toEqual({});
  });

  it('lets a system key set active and billingPlan (and null removes the plan)', async () => {
    const c = await t.customer();
    const res = await rest('PATCH', `/customers/${c.id}`, { key: t.systemKey, body: { active: false, billingPlan: { concurrency: 3, tier: 'gold' } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ active: false, billingPlan: { concurrency: 3, tier: 'gold' } });
    expectError(await rest('GET', '/customers/self', { key: c.key }), 403, 'FORBIDDEN');
    const cleared = await rest('PATCH', `/customers/${c.id}`, { key: t.systemKey, body: { active: true, billingPlan: null } });
    expect(cleared.body).toMatchObject({ active: true, billingPlan: null });
    expect((await rest('GET', '/customers/self', { key: c.key })).status).toBe(200);
  });

  it.each([{ active: false }, { billingPlan: { concurrency: 100 } }, { billingPlan: null }, { profile: {}, active: true }])(
    'refuses %j from a customer key with 403, changing nothing',
    async (body) => {
      const c = await t.customer();
      expectError(await rest('PATCH', '/customers/self', { key: c.key, body }), 403, 'FORBIDDEN', /system key/);
      const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
      expect(row).toMatchObject({ active: true, billingPlan: null, profile: {} });
    },
  );

  it.each(['uuid', 'id', 'createdAt', 'modifiedAt', 'name', 'settings', 'lastActivity'])(
    'refuses the read-only field %s by name with 400, for any key',
    async (field) => {
      const c = await t.customer();
      for (const key of [c.key, t.systemKey]) {
        const res = await rest('PATCH', `/customers/${c.uuid}`, { key, body: { [field]: 'x', profile: { a: 1 } } });
        expectError(res, 400, 'BAD_REQUEST', new RegExp(`${field}: is read-only`));
      }
      expect((await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).profile).toEqual({});
    },
  );

  it.each([
    ['an unknown field', { colour: 'blue' }, /unknown field\(s\): colour/],
    ['a profile that is not an object', { profile: [1, 2] }, /profile/],
    ['active that is not a boolean', { active: 'yes' }, /active/],
  ])('refuses %s with 400', async (_what, body, message) => {
    const c = await t.customer();
    expectError(await rest('PATCH', `/customers/${c.uuid}`, { key: t.systemKey, body }), 400, 'BAD_REQUEST', message);
  });

  it('refuses bodies that are not a JSON object: malformed, empty, an array, null, a string', async () => {
    const c = await t.customer();
    const patch = (body: string, headers?: Record<string, string>) => rest('PATCH', '/customers/self', { key: c.key, body, headers });
    expectError(await patch('{"profile": '), 400, 'BAD_REQUEST', /not valid JSON/);
    expectError(await patch('[]'), 400, 'BAD_REQUEST', /JSON object, not an array/);
    expectError(await patch('null'), 400, 'BAD_REQUEST', /JSON object, not null/);
    expectError(await patch('"x"'), 400, 'BAD_REQUEST', /JSON object, not string/);
    expectError(await rest('PATCH', '/customers/self', { key: c.key }), 400, 'BAD_REQUEST', /needs a JSON object/);
  });

  it('is 415 for a body that is not application/json, and takes JSON with a UTF-8 charset', async () => {
    const c = await t.customer();
    const body = JSON.stringify({ profile: { a: 1 } });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
      expectError(await rest('PATCH', '/customers/self', { key: c.key, body, headers: { 'content-type': type } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    const ok = await rest('PATCH', '/customers/self', { key: c.key, body, headers: { 'content-type': 'application/json; charset=UTF-8' } });
    expect(ok.status).toBe(200);
  });

  it('is 413 for a body over 64 KiB, however it is sent', async () => {
    const c = await t.customer();
    const big = JSON.stringify({ profile: { blob: 'x'.repeat(70_000) } });
    expectError(await rest('PATCH', '/customers/self', { key: c.key, body: big }), 413, 'PAYLOAD_TOO_LARGE');
    // Streamed without a Content-Length: counted while reading.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(8_000)));
        controller.close();
      },
    });
    const res = await t.app.fetch('http://test/customers/self', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ status: false, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('accepts a duplicate key in a body, the last one winning', async () => {
    const c = await t.customer();
    const res = await rest('PATCH', '/customers/self', { key: c.key, body: '{"profile": {"a": 1}, "profile": {"b": 2}}' });
    expect(res.body.profile).toEqual({ b: 2 });
  });

  it('checks the key before the body: no key and a bad body is 401', async () => {
    expectError(await rest('PATCH', '/customers/self', { body: '{oops' }), 401, 'UNAUTHENTICATED');
  });
});

describe('GET /customers', () => {
  it('pages all customers in id order with a Link to the next page, and none on the last', async () => {
    for (let i = 0; i < 5; i++) await t.customer();
    const ids: number[] = [];
    let path: string | undefined = '/customers?limit=2';
    let pages = 0;
    while (path) {
      const res: RestResult = await rest('GET', path, { key: t.systemKey });
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      for (const c of res.body) expect(Object.keys(c)).toEqual(CUSTOMER_FIELDS);
      ids.push(...res.body.map((c: { id: number }) => c.id));
      const link = res.headers.get('link');
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      if (path) expect(res.body).toHaveLength(2);
      pages++;
    }
    const all = (await t.database.prisma.customer.findMany({ where: { deletedAt: null }, orderBy: { id: 'asc' }, select: { id: true } })).map((c) => c.id);
    expect(ids).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 2));
  });

  it('defaults to 50 a page, takes up to 500, and renders settings', async () => {
    const c = await t.customer();
    await rest('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 4 } });
    const res = await rest('GET', '/customers', { key: t.systemKey });
    expect(res.body.length).toBeLessThanOrEqual(50);
    const big = await rest('GET', '/customers?limit=500', { key: t.systemKey });
    expect(big.status).toBe(200);
    expect(big.headers.get('link')).toBeNull();
    expect(big.body.find((x: { id: number }) => x.id === c.id).settings).toEqual({ 'concurrency-limit': 4 });
  });

  it.each(['limit=0', 'limit=501', 'limit=abc', 'limit=-1', 'limit=1.5', 'after=x', 'after=99999999999', 'limit=1&limit=2', 'colour=blue'])(
    'refuses ?%s with 400',
    async (query) => {
      expectError(await rest('GET', `/customers?${query}`, { key: t.systemKey }), 400, 'BAD_REQUEST');
    },
  );

  it('is 403 for a customer key and 401 without a key', async () => {
    const c = await t.customer();
    expectError(await rest('GET', '/customers', { key: c.key }), 403, 'FORBIDDEN');
    expectError(await rest('GET', '/customers'), 401, 'UNAUTHENTICATED');
  });
});

describe('POST /customers', () => {
  it('registers a customer: 201, the customer, and its Location', async () => {
    const res = await rest('POST', '/customers', {
      key: t.systemKey,
      body: { name: 'Posted Ltd', profile: { 'contact-name': 'Bo' }, billingPlan: { concurrency: 7 }, active: true },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(CUSTOMER_FIELDS);
    expect(res.body).toMatchObject({ name: 'Posted Ltd', profile: { 'contact-name': 'Bo' }, billingPlan: { concurrency: 7 }, active: true, settings: {} });
    expect(res.headers.get('location')).toBe(`/customers/${res.body.uuid}`);
    expect((await rest('GET', res.headers.get('location')!, { key: t.systemKey })).body.name).toBe('Posted Ltd');
  });

  it('is 409 for a taken name', async () => {
    await rest('POST', '/customers', { key: t.systemKey, body: { name: 'Twice' } });
    expectError(await rest('POST', '/customers', { key: t.systemKey, body: { name: 'Twice' } }), 409, 'CONFLICT', /Twice/);
  });

  it.each([{}, { name: 'self' }, { name: '12345' }, { name: '' }, { name: 5 }, { name: 'ok', uuid: 'x' }, { name: 'ok', active: 'yes' }])(
    'refuses %j with 400',
    async (body) => {
      expectError(await rest('POST', '/customers', { key: t.systemKey, body }), 400, 'BAD_REQUEST');
    },
  );

  it('is 403 for a customer key (creating nothing) and 401 without a key', async () => {
    const c = await t.customer();
    expectError(await rest('POST', '/customers', { key: c.key, body: { name: 'sneaky' } }), 403, 'FORBIDDEN');
    expectError(await rest('POST', '/customers', { body: { name: 'sneaky' } }), 401, 'UNAUTHENTICATED');
    expect(await t.database.prisma.customer.count({ where: { name: 'sneaky' } })).toBe(0);
  });
});

describe('settings', () => {
  it('POST sets by name and answers all settings; GET lists them as {name: value}', async () => {
    const c = await t.customer();
    const res = await rest('POST', '/customers/self/settings', { key: c.key, body: { name: 'concurrency-limit', value: 5 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ 'concurrency-limit': 5 });
    expect((await rest('GET', `/customers/${c.uuid}/settings`, { key: c.key })).body).toEqual({ 'concurrency-limit': 5 });
    expect((await rest('GET', `/customers/${c.id}/settings`, { key: t.systemKey })).body).toEqual({ 'concurrency-limit': 5 });
  });

  it('GET of no settings is {}', async () => {
    const c = await t.customer();
    expect((await rest('GET', '/customers/self/settings', { key: c.key })).body).toEqual({});
  });

  it('PUT sets one setting and answers the setting object; GET reads it; DELETE removes it', async () => {
    const c = await t.customer();
    const put = await rest('PUT', '/customers/self/settings/concurrency-limit', { key: c.key, body: { value: 0 } });
    expect(put.status).toBe(200);
    expect(Object.keys(put.body)).toEqual(['name', 'value', 'createdAt', 'modifiedAt']);
    expect(put.body).toMatchObject({ name: 'concurrency-limit', value: 0 });
    expect(put.body.createdAt).toMatch(TIMESTAMP);
    const got = await rest('GET', '/customers/self/settings/concurrency-limit', { key: c.key });
    expect(got.body).toEqual(put.body);
    const removed = await rest('DELETE', '/customers/self/settings/concurrency-limit', { key: c.key });
    expect(removed.status).toBe(204);
    expectError(await rest('GET', '/customers/self/settings/concurrency-limit', { key: c.key }), 404, 'NOT_FOUND', /not set/);
    expectError(await rest('DELETE', '/customers/self/settings/concurrency-limit', { key: c.key }), 404, 'NOT_FOUND', /not set/);
  });

  it('moves the customer modifiedAt with each setting write', async () => {
    const c = await t.customer();
    const before = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    await rest('PUT', '/customers/self/settings/concurrency-limit', { key: c.key, body: { value: 1 } });
    const after = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    expect(after.modifiedAt.getTime()).toBeGreaterThan(before.modifiedAt.getTime());
  });

  it.each([
    ['an unknown setting', { name: 'colour', value: 'blue' }, /"colour".*concurrency-limit/],
    ['a value out of range', { name: 'concurrency-limit', value: 1_000_001 }, /concurrency-limit.*an integer from 0 to 1000000/],
    ['a string value', { name: 'concurrency-limit', value: 'five' }, /concurrency-limit.*an integer from 0 to 1000000/],
    ['a null value', { name: 'concurrency-limit', value: null }, /concurrency-limit/],
    ['no value', { name: 'concurrency-limit' }, /value: is required/],
    ['no name', { value: 5 }, /name/],
    ['an extra field', { name: 'concurrency-limit', value: 5, x: 1 }, /unknown field\(s\): x/],
  ])('POST refuses %s with 400, storing nothing', async (_what, body, message) => {
    const c = await t.customer();
    expectError(await rest('POST', '/customers/self/settings', { key: c.key, body }), 400, 'BAD_REQUEST', message);
    expect(await t.database.prisma.setting.count({ where: { customerId: c.id } })).toBe(0);
  });

  it.each([
    ['an unknown setting', 'colour', { value: 1 }, /"colour"/],
    ['an invalid value', 'concurrency-limit', { value: -1 }, /concurrency-limit.*an integer from 0 to 1000000/],
    ['no value', 'concurrency-limit', {}, /value: is required/],
    ['the name in the body', 'concurrency-limit', { name: 'concurrency-limit', value: 1 }, /unknown field\(s\): name/],
  ])('PUT refuses %s with 400', async (_what, name, body, message) => {
    const c = await t.customer();
    expectError(await rest('PUT', `/customers/self/settings/${name}`, { key: c.key, body }), 400, 'BAD_REQUEST', message);
  });

  it('GET and DELETE of a setting that is not supported are 404 (it is not set)', async () => {
    const c = await t.customer();
    expectError(await rest('GET', '/customers/self/settings/colour', { key: c.key }), 404, 'NOT_FOUND');
    expectError(await rest('DELETE', '/customers/self/settings/colour', { key: c.key }), 404, 'NOT_FOUND');
  });

  it('needs a body on POST and PUT (400), as JSON (415)', async () => {
    const c = await t.customer();
    expectError(await rest('POST', '/customers/self/settings', { key: c.key }), 400, 'BAD_REQUEST');
    expectError(await rest('PUT', '/customers/self/settings/concurrency-limit', { key: c.key }), 400, 'BAD_REQUEST');
    const body = '{"value": 1}';
    expectError(await rest('PUT', '/customers/self/settings/concurrency-limit', { key: c.key, body, headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('concurrency limit', () => {
  it('is 404 unset, set by {"limit": n}, read, replaced by {"value": n}, deleted (204), then 404', async () => {
    const c = await t.customer();
    expectError(await rest('GET', '/customers/self/concurrency-limit', { key: c.key }), 404, 'NOT_FOUND', /No concurrency limit/);
    const put = await rest('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 5 } });
    expect(put).toMatchObject({ status: 200, body: { limit: 5 } });
    expect((await rest('GET', '/customers/self/concurrency-limit', { key: c.key })).body).toEqual({ limit: 5 });
    expect((await rest('GET', '/customers/self/settings', { key: c.key })).body).toEqual({ 'concurrency-limit': 5 });
    const byValue = await rest('PUT', `/customers/${c.uuid}/concurrency-limit`, { key: t.systemKey, body: { value: 6 } });
    expect(byValue.body).toEqual({ limit: 6 });
    expect((await rest('DELETE', '/customers/self/concurrency-limit', { key: c.key })).status).toBe(204);
    expectError(await rest('GET', '/customers/self/concurrency-limit', { key: c.key }), 404, 'NOT_FOUND');
    expectError(await rest('DELETE', '/customers/self/concurrency-limit', { key: c.key }), 404, 'NOT_FOUND', /No concurrency limit/);
  });

  it.each([
    [{}, /one of the two/],
    [{ limit: 5, value: 5 }, /one of the two/],
    [{ limit: 'five' }, /limit/],
    [{ limit: 5.5 }, /limit/],
    [{ limit: -1 }, /concurrency-limit.*an integer from 0 to 1000000.*-1/],
    [{ limit: 1_000_001 }, /concurrency-limit.*an integer from 0 to 1000000/],
    [{ limit: 5, colour: 1 }, /unknown field\(s\): colour/],
  ])('refuses %j with 400', async (body, message) => {
    const c = await t.customer();
    expectError(await rest('PUT', '/customers/self/concurrency-limit', { key: c.key, body }), 400, 'BAD_REQUEST', message);
    expect(await t.database.prisma.setting.count({ where: { customerId: c.id } })).toBe(0);
  });

  it('is 404 for a system key naming no customer', async () => {
    expectError(await rest('PUT', '/customers/nobody-here/concurrency-limit', { key: t.systemKey, body: { limit: 1 } }), 404, 'NOT_FOUND');
    expectError(await rest('GET', '/customers/nobody-here/concurrency-limit', { key: t.systemKey }), 404, 'NOT_FOUND');
  });
});

describe('API keys', () => {
  it('issues a key (201, secret once, no-store), lists keys without secrets, deletes it (204) so it is refused and unlisted', async () => {
    const c = await t.customer();
    const created = await rest('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'deploy' } });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(['id', 'keyId', 'name', 'type', 'active', 'createdAt', 'modifiedAt', 'lastUsedAt', 'secret']);
    expect(created.body).toMatchObject({ name: 'deploy', type: 'customer', active: true, lastUsedAt: null });
    expect(created.body.secret).toMatch(/^XI[A-Za-z0-9]{32}$/);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const secret: string = created.body.secret;
    expect((await rest('GET', '/customers/self', { key: secret })).body.uuid).toBe(c.uuid);

    const list = await rest('GET', '/customers/self/apikeys', { key: c.key });
    expect(list.body.map((k: { name: string }) => k.name)).toEqual(['test', 'deploy']);
    expect(Object.keys(list.body[0])).toEqual(['id', 'keyId', 'name', 'type', 'active', 'createdAt', 'modifiedAt', 'lastUsedAt']);
    expect(JSON.stringify(list.body)).not.toContain(secret);

    expect((await rest('DELETE', `/customers/self/apikeys/${created.body.keyId}`, { key: c.key })).status).toBe(204);
    expectError(await rest('GET', '/customers/self', { key: secret }), 401, 'UNAUTHENTICATED');
    const after = await rest('GET', `/customers/${c.uuid}/apikeys`, { key: t.systemKey });
    expect(after.body.find((k: { keyId: string }) => k.keyId === created.body.keyId)).toBeUndefined();
    // The row stays, marked deleted; deleting it again is 404, as is a key the customer does not have.
    expect((await t.database.prisma.apiKey.findUniqueOrThrow({ where: { keyId: created.body.keyId } })).deletedAt).toBeInstanceOf(Date);
    expectError(await rest('DELETE', `/customers/self/apikeys/${created.body.keyId}`, { key: c.key }), 404, 'NOT_FOUND');
    expectError(await rest('DELETE', '/customers/self/apikeys/key_nope', { key: c.key }), 404, 'NOT_FOUND', /key_nope/);
  });

  it("lets a system key issue and revoke a customer's keys by name", async () => {
    const c = await t.customer('Keyed Corp');
    const created = await rest('POST', '/customers/Keyed%20Corp/apikeys', { key: t.systemKey, body: { name: 'ops' } });
    expect(created.status).toBe(201);
    expect((await rest('GET', '/customers/self', { key: created.body.secret })).body.id).toBe(c.id);
    expect((await rest('DELETE', `/customers/${c.id}/apikeys/${created.body.keyId}`, { key: t.systemKey })).status).toBe(204);
  });

  it("is 404 revoking another customer's key through one's own customer", async () => {
    const a = await t.customer();
    const b = await t.customer();
    expectError(await rest('DELETE', `/customers/self/apikeys/${b.keyId}`, { key: a.key }), 404, 'NOT_FOUND');
    expect((await rest('GET', '/customers/self', { key: b.key })).status).toBe(200);
  });

  it.each([{}, { name: '' }, { name: 5 }, { name: 'ok', type: 'system' }])('refuses %j with 400', async (body) => {
    const c = await t.customer();
    expectError(await rest('POST', '/customers/self/apikeys', { key: c.key, body }), 400, 'BAD_REQUEST');
  });
});

describe('the router itself', () => {
  it('answers unknown paths with the 404 envelope, and leaves /graphql to GraphQL', async () => {
    for (const path of ['/', '/nope', '/customers/', '/customers/self/', '/customers/self/unknown', '/customers/a/settings/b/c', '/health/x', '/graphqlx']) {
      expectError(await rest('GET', path), 404, 'NOT_FOUND');
    }
    const gql = await t.gql(t.systemKey, '{ __typename }');
    expect(gql).toMatchObject({ status: 200, data: { __typename: 'Query' } });
  });

  it('answers a method a path does not serve with 405 and Allow', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/customers', 'GET, HEAD, POST'],
      ['PATCH', '/customers/self/settings', 'GET, HEAD, POST'],
      ['POST', '/customers/self/settings/x', 'GET, HEAD, PUT, DELETE'],
      ['POST', '/customers/self/concurrency-limit', 'GET, HEAD, PUT, DELETE'],
      ['PUT', '/customers/self/apikeys/key_x', 'GET, HEAD, PATCH, DELETE'],
      ['PUT', '/tenants/self/keys/key_x', 'GET, HEAD, PATCH, DELETE'],
      ['PUT', '/customers/self', 'GET, HEAD, PATCH, DELETE'],
      ['POST', '/health', 'GET, HEAD'],
      ['OPTIONS', '/customers', 'GET, HEAD, POST'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await rest(method, path, { key: t.systemKey });
      expectError(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
    }
  });

  it('serves HEAD wherever GET is served, without a body', async () => {
    const c = await t.customer();
    const res = await rest('HEAD', '/customers/self', { key: c.key });
    expect(res.status).toBe(200);
    expect(res.body).toBeUndefined();
    expect((await rest('HEAD', '/customers/self')).status).toBe(401);
    expect((await rest('HEAD', '/health')).status).toBe(200);
  });

  it('asks for a key on every route but /health, /ready, /metrics and /openapi.json', async () => {
    const open = new Set(['/health', '/ready', '/metrics', '/openapi.json']);
    for (const [template, operations] of Object.entries<Record<string, { security: unknown[] }>>(document.paths)) {
      const path = template.replace('{customer}', 'self').replace('{name}', 'concurrency-limit').replace('{keyId}', 'key_x');
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.security.length === 0, `${method} ${template}`).toBe(open.has(template));
        const body = method === 'get' || method === 'delete' ? undefined : {};
        const res = await rest(method.toUpperCase(), path, { body });
        if (open.has(template)) expect(res.status, `${method} ${template}`).toBe(200);
        else expectError(res, 401, 'UNAUTHENTICATED');
      }
    }
  });

  it('logs one line per request with the route template and the keyId, never the secret', async () => {
    const c = await t.customer();
    await rest('PUT', '/customers/self/settings/concurrency-limit', { key: c.key, body: { value: 2 } });
    await rest('GET', '/nowhere');
    const lines = t.logs.map((l) => JSON.parse(l));
    expect(lines).toContainEqual(
      expect.objectContaining({ method: 'PUT', route: '/customers/{customer}/settings/{name}', status: 200, keyId: c.keyId }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ method: 'GET', route: 'unmatched', status: 404 }));
    expect(t.logs.join('\n')).not.toContain(c.key);
  });

  it('masks unexpected errors as INTERNAL "Unexpected error", logging only their kind', async () => {
    const logs: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void logs.push(line) } as never);
    const failing: Services = {
      ...t.services,
      authenticator: {
        authenticate: async () => {
          throw new TypeError('secret internals: SELECT * FROM api_keys');
        },
      } as never,
    };
    const app = createApp(failing, logger, { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true });
    const res = await app.fetch('http://test/customers/self', { headers: { authorization: `Bearer ${t.systemKey}` } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ status: false, code: 'INTERNAL', message: 'Unexpected error' });
    expect(logs.join('\n')).toContain('"type":"TypeError"');
    expect(logs.join('\n')).not.toContain('secret internals');
  });

  it('answers 503 UNAVAILABLE when the database is unreachable', async () => {
    const down: Services = {
      ...t.services,
      authenticator: {
        authenticate: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        },
      } as never,
      ping: () => Promise.reject(new Error('down')),
    };
    const app = createApp(down, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true });
    const res = await app.fetch('http://test/customers/self', { headers: { authorization: `Bearer ${t.systemKey}` } });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: false, code: 'UNAVAILABLE' });
    const ready = await app.fetch('http://test/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: false, code: 'UNAVAILABLE' });
    expect((await app.fetch('http://test/health')).status).toBe(200);
  });
});

describe('health, readiness, metrics', () => {
  it('answers /health and /ready with {"status": true} and no key', async () => {
    expect(await rest('GET', '/health')).toMatchObject({ status: 200, body: { status: true } });
    expect(await rest('GET', '/ready')).toMatchObject({ status: 200, body: { status: true } });
  });

  it('serves Prometheus text: requests by route and status, latency histograms, the pool, statements', async () => {
    const c = await t.customer();
    await rest('GET', '/customers/self', { key: c.key });
    await rest('GET', '/customers/self');
    await t.gql(c.key, '{ me { name } }');
    const res = await rest('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text: string = res.body;
    expect(text).toMatch(/^http_requests_total\{method="GET",route="\/customers\/\{customer\}",status="200"\} \d+$/m);
    expect(text).toMatch(/^http_requests_total\{method="GET",route="\/customers\/\{customer\}",status="401"\} \d+$/m);
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/graphql",status="200"\} \d+$/m);
    expect(text).toMatch(/^http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/customers\/\{customer\}",status="200"\} \d+$/m);
    expect(text).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/customers\/\{customer\}",status="200"\} \d+$/m);
    expect(text).toMatch(/^db_pool_connections\{state="total"\} \d+$/m);
    expect(text).toMatch(/^db_pool_connections\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^db_pool_waiting_clients \d+$/m);
    expect(text).toMatch(/^db_statements_total [1-9]\d*$/m);
  });

  it('has no /metrics (404) when METRICS is off, and documents none', async () => {
    const app = createApp(t.services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false });
    const res = await app.fetch('http://test/metrics');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: false, code: 'NOT_FOUND' });
    const doc = (await (await app.fetch('http://test/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(doc.paths['/metrics']).toBeUndefined();
    expect(doc.paths['/health']).toBeDefined();
  });
});

describe('what the services gained for REST, seen through GraphQL too', () => {
  it('pages 500 customers at once (a page and one more are read) and refuses a cursor beyond any id with 400', async () => {
    const page = await t.gql(t.systemKey, '{ customers(first: 500) { edges { node { id } } pageInfo { hasNextPage } } }');
    expect(page.errors).toBeUndefined();
    expect(page.data.customers.pageInfo.hasNextPage).toBe(false);
    const beyond = await t.gql(t.systemKey, '{ customers(first: 5, after: "99999999999") { edges { node { id } } } }');
    expect(beyond.status).toBe(400);
    expect(beyond.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('still refuses active from a customer key in updateCustomer with 403', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, 'mutation { updateCustomer(customer: "self", input: {active: false, profile: {a: 1}}) { id } }');
    expect(res.status).toBe(403);
    expect(res.errors?.[0]?.message).toMatch(/active/);
  });
});
