import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';
import { dumpDatabase } from './db-dump.js';

/**
 * A customer key naming any other customer (by uuid, id or name; existing or not) is refused with
 * the same 403 body, and nothing changes.
 */
let t: TestApp;
let alice: Awaited<ReturnType<TestApp['customer']>>;
let bob: Awaited<ReturnType<TestApp['customer']>>;

beforeAll(async () => {
  t = await createTestApp();
  alice = await t.customer('alice');
  bob = await t.customer('bob');
  await t.gql(t.systemKey, `mutation { setConcurrencyLimit(customer: "${bob.uuid}", limit: 9) { id } }`);
});
afterAll(() => t.close());

const snapshot = async () => JSON.stringify(await dumpDatabase(t));

const targets = () => [
  ['bob by uuid', bob.uuid],
  ['bob by id', String(bob.id)],
  ['bob by name', 'bob'],
  ['a missing uuid', '00000000-0000-4000-8000-000000000000'],
  ['a missing id', '999999'],
  ['a missing name', 'nobody'],
];

const operations: [string, string][] = [
  ['customer', 'query($c: ID!) { customer(id: $c) { name settings { values } } }'],
  ['setCustomerSetting', 'mutation($c: ID!) { setCustomerSetting(customer: $c, name: "concurrency-limit", value: 1) { id } }'],
  ['removeCustomerSetting', 'mutation($c: ID!) { removeCustomerSetting(customer: $c, name: "concurrency-limit") { id } }'],
  ['setConcurrencyLimit', 'mutation($c: ID!) { setConcurrencyLimit(customer: $c, limit: 1) { id } }'],
  ['removeConcurrencyLimit', 'mutation($c: ID!) { removeConcurrencyLimit(customer: $c) { id } }'],
  ['updateCustomerProfile', 'mutation($c: ID!) { updateCustomerProfile(customer: $c, profile: {x: 1}) { id } }'],
  ['updateCustomer', 'mutation($c: ID!) { updateCustomer(customer: $c, input: {active: false}) { id } }'],
  ['createApiKey', 'mutation($c: ID!) { createApiKey(customer: $c, name: "x") { secret } }'],
  ['revokeApiKey', 'mutation($c: ID!) { revokeApiKey(customer: $c, keyId: "key_x") { keyId } }'],
];

describe('tenant isolation over GraphQL', () => {
  for (const [opName, query] of operations) {
    it(`${opName}: alice's key gets the same 403 for every other customer, and nothing changes`, async () => {
      const before = await snapshot();
      const bodies = new Set<string>();
      for (const [, id] of targets()) {
        const res = await t.gql(alice.key, query, { c: id });
        // The customer lookup is nullable: its refusal is a partial result (200, the field null).
        expect(res.status, `${opName} ${id}`).toBe(opName === 'customer' ? 200 : 403);
        expect(res.errors?.[0]?.extensions?.http?.status).toBe(403);
        expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
        expect(res.data?.[Object.keys(res.data ?? {})[0] ?? ''] ?? null).toBeNull();
        bodies.add(JSON.stringify(res.errors?.map((e) => ({ message: e.message, extensions: e.extensions }))));
      }
      expect(bodies.size).toBe(1);
      expect(await snapshot()).toBe(before);
    });
  }

  it("alice's own uuid, id and name reach alice", async () => {
    for (const id of [alice.uuid, String(alice.id), 'alice', 'self']) {
      const res = await t.gql(alice.key, 'query($c: ID!) { customer(id: $c) { name } }', { c: id });
      expect(res.data.customer.name).toBe('alice');
    }
  });
});
