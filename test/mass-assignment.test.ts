import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/kernel/secrets.js';
import { statusOf } from '../src/kernel/errors.js';
import { dumpDatabase, type Dump } from './db-dump.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * A customer key can never set `active`, `billingPlan`, `uuid`, `id`, `name`, `createdAt` (or any
 * other read-only field) nor anything of another customer, through any door; and no key's secret
 * can be read back after the response that created it.
 */
let t: TestApp;
let alice: Awaited<ReturnType<TestApp['customer']>>;
let bob: Awaited<ReturnType<TestApp['customer']>>;

beforeAll(async () => {
  t = await createTestApp();
  alice = await t.customer('alice', { billingPlan: { concurrency: 10, tier: 'gold' } });
  bob = await t.customer('bob', { billingPlan: { concurrency: 3 } });
  for (const c of [alice, bob]) {
    const res = await t.http('PATCH', `/customers/${c.uuid}`, { key: t.systemKey, body: { profile: { 'contact-name': c.name } } });
    expect(res.status).toBe(200);
    expect((await t.http('PUT', `/customers/${c.uuid}/concurrency-limit`, { key: t.systemKey, body: { limit: 4 } })).status).toBe(200);
  }
});
afterAll(() => t?.close());

/** Calls, expects a refusal in the error envelope (with `code` when given), and an unchanged database. */
async function refusedRest(
  method: string,
  path: string,
  options: { key: string; body?: unknown; headers?: Record<string, string> },
  code?: string,
): Promise<{ code: string; message: string }> {
  const before = await dumpDatabase(t);
  const res = await t.http(method, path, options);
  const text = await res.text();
  const what = `${method} ${path} ${typeof options.body === 'string' ? options.body : JSON.stringify(options.body)} → ${res.status} ${text}`;
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  const body = JSON.parse(text);
  expect(body, what).toEqual({ status: false, code: code ?? expect.any(String), message: expect.any(String) });
  expect(statusOf[body.code as keyof typeof statusOf], what).toBe(res.status);
  expect(await dumpDatabase(t), `${what}: the database changed`).toEqual(before);
  return body;
}

async function refusedGql(key: string, query: string, variables?: Record<string, unknown>, code?: string) {
  const before = await dumpDatabase(t);
  const res = await t.gql(key, query, variables);
  const what = `${query} ${JSON.stringify(variables)} → ${res.status} ${JSON.stringify(res.errors)}`;
  expect(res.errors?.length, what).toBeGreaterThan(0);
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  for (const error of res.errors!) {
    if (code) expect(error.extensions?.code, what).toBe(code);
    expect(statusOf[error.extensions?.code as keyof typeof statusOf], what).toBe(error.extensions?.http?.status);
  }
  expect(await dumpDatabase(t), `${what}: the database changed`).toEqual(before);
  return res;
}

const customerRow = (dump: Dump, id: number) => dump.customers.find((c) => c.id === id)!;

/** What a customer key tries to set, and the answer's code: the operator's fields are 403, the rest 400. */
const FORBIDDEN_FIELDS = (): [string, unknown, string][] => [
  ['active', false, 'FORBIDDEN'],
  ['active', true, 'FORBIDDEN'],
  ['billingPlan', { concurrency: 1_000_000 }, 'FORBIDDEN'],
  ['billingPlan', null, 'FORBIDDEN'],
  ['billingPlan', {}, 'FORBIDDEN'],
  ['uuid', randomUUID(), 'BAD_REQUEST'],
  ['uuid', alice.uuid, 'BAD_REQUEST'],
  ['id', bob.id, 'BAD_REQUEST'],
  ['id', alice.id, 'BAD_REQUEST'],
  ['name', 'mallory', 'BAD_REQUEST'],
  ['name', alice.name, 'BAD_REQUEST'],
  ['createdAt', '2000-01-01T00:00:00Z', 'BAD_REQUEST'],
  ['modifiedAt', '2000-01-01T00:00:00Z', 'BAD_REQUEST'],
  ['lastActivity', null, 'BAD_REQUEST'],
  ['settings', { 'concurrency-limit': 1_000_000 }, 'BAD_REQUEST'],
  ['apiKeys', [], 'BAD_REQUEST'],
  // Other spellings of the same columns.
  ['billing_plan', { concurrency: 1_000_000 }, 'BAD_REQUEST'],
  ['created_at', '2000-01-01T00:00:00Z', 'BAD_REQUEST'],
  ['Active', false, 'BAD_REQUEST'],
  ['customerId', bob.id, 'BAD_REQUEST'],
  ['customer', bob.uuid, 'BAD_REQUEST'],
];

describe('REST: PATCH /customers/{c} with a customer key', () => {
  it('refuses every field but profile, alone or beside a profile, and changes nothing (not even the profile)', async () => {
    for (const path of ['/customers/self', `/customers/${alice.uuid}`, `/customers/${alice.id}`, '/customers/alice']) {
      for (const [field, value, code] of FORBIDDEN_FIELDS()) {
        await refusedRest('PATCH', path, { key: alice.key, body: { [field]: value } }, code);
        const body = await refusedRest('PATCH', path, { key: alice.key, body: { profile: { hacked: true }, [field]: value } }, code);
        if (code === 'BAD_REQUEST' && !['billing_plan', 'created_at', 'Active', 'customerId', 'customer'].includes(field)) {
          expect(body.message).toContain(field);
        }
      }
    }
  });

  it('refuses the operator fields and the read-only ones together', async () => {
    await refusedRest('PATCH', '/customers/self', {
      key: alice.key,
      body: { profile: {}, active: false, billingPlan: null, uuid: randomUUID(), id: 1, name: 'x', createdAt: '2000-01-01T00:00:00Z' },
    });
  });

  it('ignores prototype tricks: __proto__ and constructor in the body are fields like any other', async () => {
    for (const raw of [
      '{"profile":{"x":1},"__proto__":{"active":false,"billingPlan":null}}',
      '{"__proto__":{"active":false}}',
      '{"constructor":{"prototype":{"active":false}}}',
      '{"profile":{"x":1},"constructor":{"prototype":{"active":false}}}',
    ]) {
      await refusedRest('PATCH', '/customers/self', { key: alice.key, body: raw }, 'BAD_REQUEST');
    }
    // Inside the profile they are plain data.
    const res = await t.http('PATCH', '/customers/self', { key: alice.key, body: '{"profile":{"__proto__":{"active":false},"constructor":1}}' });
    expect(res.status).toBe(200);
    const json = await res.json();
    expect(json.active).toBe(true);
    expect(json.billingPlan).toEqual({ concurrency: 10, tier: 'gold' });
  });

  it('a profile that looks like the operator fields is only a profile', async () => {
    const before = await dumpDatabase(t);
    const profile = { active: false, billingPlan: { concurrency: 1_000_000 }, uuid: randomUUID(), id: bob.id, name: 'mallory', createdAt: '2000-01-01T00:00:00Z' };
    // A query string is not a way in either.
    const res = await t.http('PATCH', '/customers/self?active=false&billingPlan=null&name=mallory', { key: alice.key, body: { profile } });
    expect([200, 400]).toContain(res.status);
    const after = await dumpDatabase(t);
    const was = customerRow(before, alice.id);
    const now = customerRow(after, alice.id);
    if (res.status === 200) {
      // Only the profile and modifiedAt moved.
      expect({ ...now, profile: was.profile, modified_at: was.modified_at }).toEqual(was);
      // PATCH merges: the members sent are set, the others kept.
      expect(now.profile).toEqual({ ...(was.profile as object), ...profile });
    } else {
      expect(after).toEqual(before);
    }
    // Nobody else changed.
    expect(after.customers.filter((c) => c.id !== alice.id)).toEqual(before.customers.filter((c) => c.id !== alice.id));
    expect(after.settings).toEqual(before.settings);
    expect(after.api_keys).toEqual(before.api_keys);
  });

  it("another customer's data cannot be changed, whatever the body says", async () => {
    for (const target of [bob.uuid, String(bob.id), 'bob']) {
      await refusedRest('PATCH', `/customers/${target}`, { key: alice.key, body: { profile: { hacked: true } } }, 'FORBIDDEN');
      await refusedRest('PATCH', `/customers/${target}`, { key: alice.key, body: { active: false } }, 'FORBIDDEN');
    }
  });
});

describe('REST: nobody sets the read-only fields, not even a system key', () => {
  it('uuid, id, name, createdAt, modifiedAt, lastActivity and settings are refused with 400 naming the field', async () => {
    for (const [field, value] of FORBIDDEN_FIELDS().filter(([f, , code]) => code === 'BAD_REQUEST' && !['apiKeys', 'billing_plan', 'created_at', 'Active', 'customerId', 'customer'].includes(f))) {
      const body = await refusedRest('PATCH', `/customers/${alice.uuid}`, { key: t.systemKey, body: { profile: { x: 1 }, [field]: value } }, 'BAD_REQUEST');
      expect(body.message).toContain(field);
    }
  });
});

describe('REST: other bodies carry no extra fields', () => {
  it('settings, concurrency limit and key bodies refuse fields that would name another customer or a key property', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      ['POST', '/customers/self/settings', { name: 'concurrency-limit', value: 1, customerId: bob.id }],
      ['POST', '/customers/self/settings', { name: 'concurrency-limit', value: 1, customer: bob.uuid }],
      ['POST', '/customers/self/settings', { name: 'concurrency-limit', value: 1, createdAt: '2000-01-01T00:00:00Z' }],
      ['PUT', '/customers/self/settings/concurrency-limit', { value: 1, customerId: bob.id }],
      ['PUT', '/customers/self/settings/concurrency-limit', { value: 1, name: 'other' }],
      ['PUT', '/customers/self/concurrency-limit', { limit: 1, customerId: bob.id }],
      ['PUT', '/customers/self/concurrency-limit', { limit: 1, customer: 'bob' }],
      ['POST', '/customers/self/apikeys', { name: 'x', type: 'system' }],
      ['POST', '/customers/self/apikeys', { name: 'x', customerId: bob.id }],
      ['POST', '/customers/self/apikeys', { name: 'x', customer: bob.uuid }],
      ['POST', '/customers/self/apikeys', { name: 'x', secret: `XI${'a'.repeat(32)}` }],
      ['POST', '/customers/self/apikeys', { name: 'x', secretHash: hashSecret(`XI${'a'.repeat(32)}`) }],
      ['POST', '/customers/self/apikeys', { name: 'x', keyId: 'key_chosenByTheCaller' }],
      ['POST', '/customers/self/apikeys', { name: 'x', active: false }],
      ['POST', '/customers/self/apikeys', { name: 'x', id: 1 }],
    ];
    for (const [method, path, body] of cases) await refusedRest(method, path, { key: alice.key, body }, 'BAD_REQUEST');
  });

  it('a customer key cannot register customers, active or with a plan', async () => {
    for (const body of [{ name: 'mallory' }, { name: 'mallory', active: true, billingPlan: { concurrency: 1_000_000 } }]) {
      await refusedRest('POST', '/customers', { key: alice.key, body }, 'FORBIDDEN');
    }
  });
});

describe('GraphQL: the same rules', () => {
  const update = `mutation ($customer: ID!, $input: UpdateCustomerInput!) { updateCustomer(customer: $customer, input: $input) { id active billingPlan } }`;

  it('updateCustomer refuses active and billingPlan to a customer key (403), and changes nothing', async () => {
    for (const customer of ['self', alice.uuid, String(alice.id), 'alice']) {
      for (const input of [
        { active: false },
        { active: true },
        { billingPlan: { concurrency: 1_000_000 } },
        { billingPlan: null },
        { profile: { hacked: true }, active: true },
        { profile: { hacked: true }, billingPlan: {} },
      ]) {
        await refusedGql(alice.key, update, { customer, input }, 'FORBIDDEN');
      }
    }
    await refusedGql(alice.key, `mutation { updateCustomer(customer: "self", input: { active: false, profile: {} }) { id } }`, undefined, 'FORBIDDEN');
  });

  it('the input objects have no read-only fields: uuid, id, name, createdAt are 400 (in variables and literals)', async () => {
    for (const [field, value] of [
      ['uuid', randomUUID()],
      ['id', bob.id],
      ['name', 'mallory'],
      ['createdAt', '2000-01-01T00:00:00Z'],
      ['modifiedAt', '2000-01-01T00:00:00Z'],
      ['settings', { 'concurrency-limit': 1 }],
      ['customerId', bob.id],
    ] as const) {
      for (const key of [alice.key, t.systemKey]) {
        await refusedGql(key, update, { customer: alice.uuid, input: { profile: {}, [field]: value } }, 'BAD_REQUEST');
        await refusedGql(key, `mutation { updateCustomer(customer: "${alice.uuid}", input: { ${field}: ${JSON.stringify(JSON.stringify(value))} }) { id } }`, undefined, 'BAD_REQUEST');
      }
    }
  });

  it('createCustomer is the operator’s, whatever its input says', async () => {
    for (const input of [{ name: 'mallory' }, { name: 'mallory', active: true, billingPlan: { concurrency: 1 } }]) {
      await refusedGql(alice.key, `mutation ($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }`, { input }, 'FORBIDDEN');
    }
  });

  it('no mutation takes extra arguments: a key type, a secret, another customer id', async () => {
    for (const query of [
      `mutation { createApiKey(name: "x", type: "system") { secret } }`,
      `mutation { createApiKey(name: "x", secret: "XI${'a'.repeat(32)}") { secret } }`,
      `mutation { createApiKey(name: "x", customerId: ${bob.id}) { secret } }`,
      `mutation { setConcurrencyLimit(limit: 1, customerId: ${bob.id}) { id } }`,
      `mutation { setCustomerSetting(name: "concurrency-limit", value: 1, customerId: ${bob.id}) { id } }`,
      `mutation { updateCustomerProfile(profile: {}, active: false) { id } }`,
      `mutation { updateCustomerProfile(profile: {}, billingPlan: {}) { id } }`,
    ]) {
      await refusedGql(alice.key, query, undefined, 'BAD_REQUEST');
    }
  });

  it("another customer's data cannot be changed through any mutation", async () => {
    for (const customer of [bob.uuid, String(bob.id), 'bob', bob.uuid.toUpperCase()]) {
      for (const [query, variables] of [
        [`mutation ($c: ID!) { updateCustomerProfile(customer: $c, profile: { hacked: true }) { id } }`, {}],
        [`mutation ($c: ID!) { updateCustomer(customer: $c, input: { profile: { hacked: true } }) { id } }`, {}],
        [`mutation ($c: ID!) { setConcurrencyLimit(customer: $c, limit: 1) { id } }`, {}],
        [`mutation ($c: ID!) { setCustomerSetting(customer: $c, name: "concurrency-limit", value: 1) { id } }`, {}],
        [`mutation ($c: ID!) { removeConcurrencyLimit(customer: $c) { id } }`, {}],
        [`mutation ($c: ID!) { createApiKey(customer: $c, name: "x") { secret } }`, {}],
        [`mutation ($c: ID!, $k: String!) { revokeApiKey(customer: $c, keyId: $k) { id } }`, { k: bob.keyId }],
        [`mutation ($k: String!) { revokeApiKey(keyId: $k) { id } }`, { k: bob.keyId }],
      ] as const) {
        const res = await refusedGql(alice.key, query, { c: customer, ...variables });
        expect(['FORBIDDEN', 'NOT_FOUND']).toContain(res.errors![0]!.extensions?.code);
      }
    }
  });

  it('a profile that looks like the operator fields is only a profile; a refused sibling mutation changes nothing', async () => {
    const before = customerRow(await dumpDatabase(t), alice.id);
    const res = await t.gql(
      alice.key,
      `mutation { a: updateCustomerProfile(profile: { active: false, billingPlan: null, name: "mallory" }) { active billingPlan name }
                  b: updateCustomer(customer: "self", input: { active: false, billingPlan: null }) { active } }`,
    );
    // Both root fields are non-null, so b's error nulls the whole answer; a ran first, and was applied.
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const now = customerRow(await dumpDatabase(t), alice.id);
    expect({ ...now, profile: before.profile, modified_at: before.modified_at }).toEqual(before);
    expect(now.profile).toEqual({ active: false, billingPlan: null, name: 'mallory' });
  });
});

describe('secrets are shown once, in the creating response, and never again', () => {
  it('no response of any door holds any issued secret or its hash', async () => {
    // Keys issued through every door, some revoked.
    const issued: { secret: string; keyId: string; text: string }[] = [];
    const viaRest = async (customer: string, key: string) => {
      const res = await t.http('POST', `/customers/${customer}/apikeys`, { key, body: { name: 'rest' } });
      expect(res.status).toBe(201);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const text = await res.text();
      const json = JSON.parse(text);
      issued.push({ secret: json.secret, keyId: json.keyId, text });
    };
    const viaGql = async (customer: string, key: string) => {
      const res = await t.http('POST', '/graphql', {
        key,
        body: { query: `mutation ($c: ID!) { createApiKey(customer: $c, name: "gql") { secret apiKey { keyId } } }`, variables: { c: customer } },
      });
      const text = await res.text();
      const json = JSON.parse(text);
      expect(json.errors).toBeUndefined();
      issued.push({ secret: json.data.createApiKey.secret, keyId: json.data.createApiKey.apiKey.keyId, text });
    };
    await viaRest('self', alice.key);
    await viaRest(bob.uuid, t.systemKey);
    await viaGql('self', alice.key);
    await viaGql('bob', t.systemKey);
    await viaRest('self', alice.key);
    expect((await t.http('DELETE', `/customers/self/apikeys/${issued.at(-1)!.keyId}`, { key: alice.key })).status).toBe(204);

    // Each creating response holds its own secret once, and no other.
    const secrets = [t.systemKey, alice.key, bob.key, ...issued.map((k) => k.secret)];
    expect(new Set(secrets).size).toBe(secrets.length);
    for (const key of issued) {
      for (const secret of secrets) expect(key.text.split(secret).length - 1).toBe(secret === key.secret ? 1 : 0);
      expect(key.text).not.toContain(hashSecret(key.secret));
    }

    // Everything there is to read, by every kind of key.
    const keyFields = 'id keyId name type active createdAt modifiedAt lastUsedAt';
    const customerFields = `id uuid name active createdAt modifiedAt lastActivity profile billingPlan
      settings { concurrencyLimit values items { name value createdAt modifiedAt } }
      concurrencyLimit { limit } concurrencyHardCap effectiveConcurrencyLimit apiKeys { ${keyFields} }`;
    const reads: [key: string, method: string, path: string, query?: string][] = [];
    for (const key of [t.systemKey, alice.key, bob.key]) {
      const own = key === t.systemKey ? [alice.uuid, bob.uuid, 'alice', String(bob.id)] : ['self'];
      for (const c of own) {
        for (const sub of ['', '/settings', '/apikeys', '/concurrency-limit', '/settings/concurrency-limit']) reads.push([key, 'GET', `/customers/${c}${sub}`]);
        reads.push([key, 'POST', '/graphql', `{ customer(id: "${c}") { ${customerFields} } }`]);
      }
      reads.push([key, 'GET', '/customers']);
      reads.push([key, 'POST', '/graphql', `{ me { ${customerFields} } customers { edges { cursor node { ${customerFields} } } } }`]);
      // Asking for the secret is a validation error, which must not suggest or show it either.
      reads.push([key, 'POST', '/graphql', `{ me { apiKeys { secret secretHash secret_hash hash } } }`]);
    }
    for (const path of ['/openapi.json', '/metrics', '/health', '/ready']) reads.push([alice.key, 'GET', path]);
    reads.push([t.systemKey, 'POST', '/graphql', `{ __schema { types { name fields { name } inputFields { name } } } }`]);

    const hashes = secrets.map(hashSecret);
    let apiKeyLists = 0;
    for (const [key, method, path, query] of reads) {
      const res = await t.http(method, path, { key, body: query ? { query } : undefined });
      const text = await res.text();
      const what = `${method} ${path} ${query ?? ''} → ${res.status}`;
      expect(res.status, what).toBeLessThan(500);
      for (const secret of secrets) expect(text, `${what}: a secret`).not.toContain(secret);
      for (const hash of hashes) expect(text, `${what}: a secret's hash`).not.toContain(hash);
      expect(text, `${what}: something shaped like a secret`).not.toMatch(/XI[A-Za-z0-9]{32}/);
      if (path.endsWith('/apikeys') && res.status === 200) {
        apiKeyLists++;
        for (const item of JSON.parse(text)) {
          expect(Object.keys(item).sort(), what).toEqual(['active', 'createdAt', 'id', 'keyId', 'lastUsedAt', 'modifiedAt', 'name', 'type']);
        }
      }
    }
    expect(apiKeyLists).toBeGreaterThanOrEqual(6);

    // The schema has one field that holds a secret (the creating answer's), and none a hash.
    const schema = await t.gql(t.systemKey, `{ __schema { types { name fields { name } inputFields { name } } } }`);
    const secretish = schema.data.__schema.types.flatMap((type: { name: string; fields?: { name: string }[]; inputFields?: { name: string }[] }) =>
      [...(type.fields ?? []), ...(type.inputFields ?? [])].filter((f) => /secret|hash/i.test(f.name)).map((f) => `${type.name}.${f.name}`),
    );
    expect(secretish).toEqual(['CreatedApiKey.secret']);
  });
});
