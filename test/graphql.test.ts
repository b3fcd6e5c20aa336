import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const CUSTOMER_FIELDS = 'id uuid name active createdAt modifiedAt lastActivity profile billingPlan';

describe('authentication', () => {
  it('refuses a request without a key with 401 UNAUTHENTICATED', async () => {
    const res = await t.gql(undefined, '{ me { name } }');
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a malformed header and an unknown key with 401', async () => {
    const malformed = await t.http('POST', '/graphql', {
      body: { query: '{ me { name } }' },
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.status).toBe(401);
    const unknown = await t.gql('XI' + 'a'.repeat(32), '{ me { name } }');
    expect(unknown.status).toBe(401);
    expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses the key of an inactive customer with 403', async () => {
    const c = await t.customer(undefined, { active: false });
    const res = await t.gql(c.key, '{ me { name } }');
    expect(res.status).toBe(403);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a deleted (revoked) key with 401, and lists it no more', async () => {
    const c = await t.customer();
    const created = await t.gql(c.key, 'mutation { createApiKey(name: "second") { secret apiKey { keyId } } }');
    const second = created.data.createApiKey;
    expect((await t.gql(second.secret, '{ me { name } }')).data.me.name).toBe(c.name);
    const revoked = await t.gql(c.key, `mutation { revokeApiKey(keyId: "${second.apiKey.keyId}") { keyId active } }`);
    expect(revoked.data.revokeApiKey).toEqual({ keyId: second.apiKey.keyId, active: true });
    expect((await t.gql(second.secret, '{ me { name } }')).status).toBe(401);
    const listed = await t.gql(c.key, '{ me { apiKeys { keyId } } }');
    expect(listed.data.me.apiKeys.map((k: { keyId: string }) => k.keyId)).toEqual([c.keyId]);
  });
});

describe('reading customers', () => {
  it('answers customer(id:"self") for a customer key, with the contract fields', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, `{ customer(id: "self") { ${CUSTOMER_FIELDS} settings { concurrencyLimit values items { name } } concurrencyLimit { limit } } }`);
    expect(res.errors).toBeUndefined();
    const got = res.data.customer;
    expect(got).toMatchObject({ id: c.id, uuid: c.uuid, name: c.name, active: true, profile: {}, billingPlan: null });
    expect(got.settings).toEqual({ concurrencyLimit: null, values: {}, items: [] });
    expect(got.concurrencyLimit).toBeNull();
    expect(new Date(got.createdAt).toISOString()).toBe(got.createdAt);
  });

  it('defaults customer(id) to self, and names the same customer by uuid (any case), id and name', async () => {
    const c = await t.customer('Acme Corp/EU');
    const res = await t.gql(
      c.key,
      `query($u: ID!, $i: ID!, $n: ID!) { a: customer { id } b: customer(id: $u) { id } c: customer(id: $i) { id } d: customer(id: $n) { id } }`,
      { u: c.uuid.toUpperCase(), i: String(c.id), n: 'Acme Corp/EU' },
    );
    expect(res.errors).toBeUndefined();
    expect(Object.values(res.data)).toEqual([{ id: c.id }, { id: c.id }, { id: c.id }, { id: c.id }]);
  });

  it('lets a system key read any customer by uuid, id or name, and 404s an unknown one', async () => {
    const c = await t.customer();
    for (const id of [c.uuid, String(c.id), c.name]) {
      const res = await t.gql(t.systemKey, `query($id: ID!) { customer(id: $id) { uuid } }`, { id });
      expect(res.data.customer.uuid).toBe(c.uuid);
    }
    const missing = await t.gql(t.systemKey, '{ customer(id: "no-such-customer") { uuid } }');
    expect(missing.status).toBe(200);
    expect(missing.data).toEqual({ customer: null });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', http: { status: 404 } });
  });

  it('answers "self" with a system key with 400, since a system key has no customer', async () => {
    const res = await t.gql(t.systemKey, '{ customer { uuid } }');
    expect(res.data).toEqual({ customer: null });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', http: { status: 400 } });
  });

  it('answers me with the key owner, and null for a system key', async () => {
    const c = await t.customer();
    expect((await t.gql(c.key, '{ me { uuid } }')).data.me.uuid).toBe(c.uuid);
    expect((await t.gql(t.systemKey, '{ me { uuid } }')).data.me).toBeNull();
  });

  it('pages all customers for a system key as a Relay connection', async () => {
    for (let i = 0; i < 3; i++) await t.customer();
    const all: number[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await t.gql(t.systemKey, 'query($after: String) { customers(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }', { after });
      expect(res.errors).toBeUndefined();
      all.push(...res.data.customers.edges.map((e: any) => e.node.id));
      if (!res.data.customers.pageInfo.hasNextPage) break;
      after = res.data.customers.pageInfo.endCursor;
    }
    const ids = (await t.database.prisma.customer.findMany({ orderBy: { id: 'asc' } })).map((c) => c.id);
    expect(all).toEqual(ids);
  });

  it('counts the customers (deleted ones not) as totalCount, with one COUNT query and only when asked', async () => {
    const gone = await t.customer();
    await t.http('DELETE', `/customers/${gone.uuid}`, { key: t.systemKey });
    const live = await t.database.prisma.customer.count({ where: { deletedAt: null } });
    t.queries.length = 0;
    const res = await t.gql(t.systemKey, '{ customers(first: 1) { totalCount edges { node { id } } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data.customers.totalCount).toBe(live);
    expect(res.data.customers.edges).toHaveLength(1);
    expect(t.queries.filter((q) => /\bcount\(/i.test(q))).toHaveLength(1);
    t.queries.length = 0;
    await t.gql(t.systemKey, '{ customers(first: 1) { edges { node { id } } } }');
    expect(t.queries.filter((q) => /\bcount\(/i.test(q))).toEqual([]);
    // Another page, the same total.
    const next = await t.gql(t.systemKey, '{ customers(first: 2, after: "0") { totalCount } }');
    expect(next.data.customers.totalCount).toBe(live);
  });

  it('refuses the customers list to a customer key with 403', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, '{ customers(first: 5) { edges { node { id } } } }');
    expect(res.status).toBe(403);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('settings', () => {
  it('sets, reads and removes the concurrency limit, moving modifiedAt each time', async () => {
    const c = await t.customer();
    const before = (await t.gql(c.key, '{ me { modifiedAt } }')).data.me.modifiedAt;
    const set = await t.gql(c.key, 'mutation { setConcurrencyLimit(limit: 5) { modifiedAt concurrencyLimit { limit } settings { concurrencyLimit values } } }');
    expect(set.errors).toBeUndefined();
    expect(set.data.setConcurrencyLimit).toMatchObject({ concurrencyLimit: { limit: 5 }, settings: { concurrencyLimit: 5, values: { 'concurrency-limit': 5 } } });
    expect(new Date(set.data.setConcurrencyLimit.modifiedAt).getTime()).toBeGreaterThan(new Date(before).getTime());

    const removed = await t.gql(c.key, 'mutation { removeConcurrencyLimit { modifiedAt concurrencyLimit { limit } } }');
    expect(removed.data.removeConcurrencyLimit.concurrencyLimit).toBeNull();
    expect(new Date(removed.data.removeConcurrencyLimit.modifiedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(set.data.setConcurrencyLimit.modifiedAt).getTime(),
    );
    const again = await t.gql(c.key, 'mutation { removeConcurrencyLimit { id } }');
    expect(again.status).toBe(404);
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('sets a setting by name and keeps the JSON value', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, 'mutation { setCustomerSetting(name: "concurrency-limit", value: 0) { settings { items { name value createdAt modifiedAt } } } }');
    expect(res.data.setCustomerSetting.settings.items).toMatchObject([{ name: 'concurrency-limit', value: 0 }]);
    const removed = await t.gql(c.key, 'mutation { removeCustomerSetting(name: "concurrency-limit") { settings { values } } }');
    expect(removed.data.removeCustomerSetting.settings.values).toEqual({});
  });

  it.each([
    ['-1', 'an integer from 0 to 1000000'],
    ['1000001', 'an integer from 0 to 1000000'],
    ['5.5', 'an integer from 0 to 1000000'],
    ['"5x"', 'an integer from 0 to 1000000'],
    ['""', 'an integer from 0 to 1000000'],
    ['"1000001"', 'an integer from 0 to 1000000'],
    ['null', 'an integer from 0 to 1000000'],
  ])('refuses concurrency-limit %s with 400 naming the setting and what it accepts', async (value, accepts) => {
    const c = await t.customer();
    const res = await t.gql(c.key, `mutation { setCustomerSetting(name: "concurrency-limit", value: ${value}) { id } }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(res.errors?.[0]?.message).toContain('concurrency-limit');
    expect(res.errors?.[0]?.message).toContain(accepts);
    const stored = await t.database.prisma.setting.count({ where: { customerId: c.id } });
    expect(stored).toBe(0);
  });

  it('refuses an unknown setting with 400 listing the supported ones', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, 'mutation { setCustomerSetting(name: "colour", value: "blue") { id } }');
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.message).toMatch(/"colour".*concurrency-limit/);
  });

  it('reports the effective limit as the lower of soft limit and the plan hard cap', async () => {
    const c = await t.customer(undefined, { billingPlan: { concurrency: 3 } });
    const q = '{ me { concurrencyLimit { limit } concurrencyHardCap effectiveConcurrencyLimit } }';
    expect((await t.gql(c.key, q)).data.me).toEqual({ concurrencyLimit: null, concurrencyHardCap: 3, effectiveConcurrencyLimit: 3 });
    await t.gql(c.key, 'mutation { setConcurrencyLimit(limit: 10) { id } }');
    expect((await t.gql(c.key, q)).data.me).toEqual({ concurrencyLimit: { limit: 10 }, concurrencyHardCap: 3, effectiveConcurrencyLimit: 3 });
    await t.gql(c.key, 'mutation { setConcurrencyLimit(limit: 2) { id } }');
    expect((await t.gql(c.key, q)).data.me.effectiveConcurrencyLimit).toBe(2);
  });
});

describe('profile and operator mutations', () => {
  it('replaces the profile and moves modifiedAt', async () => {
    const c = await t.customer();
    const profile = { 'contact-name': 'Ada Lovelace', 'contact-email': 'ada@example.com' };
    const res = await t.gql(c.key, 'mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { profile modifiedAt } }', { p: profile });
    expect(res.data.updateCustomerProfile.profile).toEqual(profile);
    const next = await t.gql(c.key, 'mutation { updateCustomerProfile(profile: {note: "x"}) { profile } }');
    expect(next.data.updateCustomerProfile.profile).toEqual({ note: 'x' });
  });

  it('lets a system key create a customer, and refuses a duplicate name with 409', async () => {
    const res = await t.gql(t.systemKey, 'mutation { createCustomer(input: {name: "Zeta Ltd", profile: {a: 1}, billingPlan: {concurrency: 7}}) { name active profile billingPlan uuid } }');
    expect(res.errors).toBeUndefined();
    expect(res.data.createCustomer).toMatchObject({ name: 'Zeta Ltd', active: true, profile: { a: 1 }, billingPlan: { concurrency: 7 } });
    expect(res.data.createCustomer.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const dup = await t.gql(t.systemKey, 'mutation { createCustomer(input: {name: "Zeta Ltd"}) { name } }');
    expect(dup.status).toBe(409);
    expect(dup.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it.each(['self', '12345', '9b235054-dec5-4b55-89ac-f56ffd8d7c3e', '', 'x'.repeat(129), 'bad\u0007name'])(
    'refuses the customer name %j with 400',
    async (name) => {
      const res = await t.gql(t.systemKey, 'mutation($n: String!) { createCustomer(input: {name: $n}) { name } }', { n: name });
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    },
  );

  it('lets a system key deactivate a customer, whose keys then get 403', async () => {
    const c = await t.customer();
    const res = await t.gql(t.systemKey, `mutation { updateCustomer(customer: "${c.uuid}", input: {active: false, billingPlan: {concurrency: 1}}) { active billingPlan } }`);
    expect(res.data.updateCustomer).toEqual({ active: false, billingPlan: { concurrency: 1 } });
    expect((await t.gql(c.key, '{ me { name } }')).status).toBe(403);
  });

  it('refuses updateCustomer and createCustomer to a customer key with 403, changing nothing', async () => {
    const c = await t.customer();
    const update = await t.gql(c.key, 'mutation { updateCustomer(customer: "self", input: {active: false}) { active } }');
    expect(update.status).toBe(403);
    const create = await t.gql(c.key, 'mutation { createCustomer(input: {name: "sneaky"}) { name } }');
    expect(create.status).toBe(403);
    const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    expect(row.active).toBe(true);
    expect(await t.database.prisma.customer.count({ where: { name: 'sneaky' } })).toBe(0);
  });

  it('shows a new key secret once; key lists never carry it', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, 'mutation { createApiKey(name: "ci") { secret apiKey { keyId name type active } } }');
    expect(res.data.createApiKey.secret).toMatch(/^XI[A-Za-z0-9]{32}$/);
    expect(res.data.createApiKey.apiKey).toMatchObject({ name: 'ci', type: 'customer', active: true });
    // `type` is the ApiKeyType enum: a selection can compare it with the enum's values.
    const types = await t.gql(c.key, '{ __type(name: "ApiKeyType") { enumValues { name } } }');
    expect(types.data.__type.enumValues.map((v: { name: string }) => v.name)).toEqual(['customer', 'system']);
    const list = await t.gql(c.key, '{ me { apiKeys { keyId name } } }');
    expect(list.data.me.apiKeys).toHaveLength(2);
    expect(JSON.stringify(list)).not.toContain(res.data.createApiKey.secret);
    const stored = await t.database.prisma.apiKey.findMany();
    expect(JSON.stringify(stored)).not.toContain(res.data.createApiKey.secret);
  });

  it('404s revoking a key the customer does not have', async () => {
    const c = await t.customer();
    const res = await t.gql(c.key, 'mutation { revokeApiKey(keyId: "key_nope") { keyId } }');
    expect(res.status).toBe(404);
  });
});

describe('activity', () => {
  it('records lastActivity and lastUsedAt on flush, without a write per request', async () => {
    const c = await t.customer();
    t.queries.length = 0;
    await t.gql(c.key, '{ me { name } }');
    await t.gql(c.key, '{ me { name } }');
    expect(t.queries.filter((q) => /UPDATE/i.test(q))).toEqual([]);
    await t.services.activity.flush();
    const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    expect(row.lastActivity).toBeInstanceOf(Date);
    expect(Date.now() - row.lastActivity!.getTime()).toBeLessThan(10_000);
    const key = await t.database.prisma.apiKey.findFirstOrThrow({ where: { customerId: c.id } });
    expect(key.lastUsedAt).toBeInstanceOf(Date);
    const res = await t.gql(c.key, '{ me { lastActivity modifiedAt } }');
    expect(res.data.me.lastActivity).toBe(row.lastActivity!.toISOString());
  });
});

describe('errors', () => {
  it('masks unexpected errors and GraphQL syntax errors are 400', async () => {
    const res = await t.gql(t.systemKey, '{ customer(id: ');
    expect(res.status).toBe(400);
  });
});

describe('introspection', () => {
  it('is on by default and can be switched off by configuration', async () => {
    const on = await t.gql(t.systemKey, '{ __schema { queryType { name } } }');
    expect(on.data.__schema.queryType.name).toBe('Query');
    const { createApp } = await import('../src/boot/app.js');
    const { createLogger } = await import('../src/boot/logger.js');
    const closed = createApp(t.services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: false, METRICS: true });
    const res = await closed.fetch('http://test/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.systemKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: { extensions: { code: string } }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions.code).toBe('BAD_REQUEST');
  });
});
