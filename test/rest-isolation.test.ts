import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';
import { dumpDatabase } from './db-dump.js';
import { createRestClient } from './rest-client.js';

/**
 * Over REST as over GraphQL: a customer key naming any other customer (by uuid, id or name;
 * existing or not) gets the same 403 body on every route, and nothing changes.
 */
let t: TestApp;
let rest: Awaited<ReturnType<typeof createRestClient>>['rest'];
let alice: Awaited<ReturnType<TestApp['customer']>>;
let bob: Awaited<ReturnType<TestApp['customer']>>;

beforeAll(async () => {
  t = await createTestApp();
  ({ rest } = await createRestClient(t));
  alice = await t.customer('alice');
  bob = await t.customer('Bob & Co/NL');
  await t.gql(t.systemKey, `mutation { setConcurrencyLimit(customer: "${bob.uuid}", limit: 9) { id } }`);
});
afterAll(() => t.close());

const snapshot = async () => JSON.stringify(await dumpDatabase(t));

const targets = () => [
  bob.uuid,
  bob.uuid.toUpperCase(),
  String(bob.id),
  encodeURIComponent(bob.name),
  '00000000-0000-4000-8000-000000000000',
  '999999',
  'nobody',
];

const routes: [method: string, path: string, body?: unknown][] = [
  ['GET', '/customers/{c}'],
  ['PATCH', '/customers/{c}', { profile: { x: 1 } }],
  ['GET', '/customers/{c}/settings'],
  ['POST', '/customers/{c}/settings', { name: 'concurrency-limit', value: 1 }],
  ['GET', '/customers/{c}/settings/concurrency-limit'],
  ['PUT', '/customers/{c}/settings/concurrency-limit', { value: 1 }],
  ['DELETE', '/customers/{c}/settings/concurrency-limit'],
  ['GET', '/customers/{c}/concurrency-limit'],
  ['PUT', '/customers/{c}/concurrency-limit', { limit: 1 }],
  ['DELETE', '/customers/{c}/concurrency-limit'],
  ['GET', '/customers/{c}/apikeys'],
  ['POST', '/customers/{c}/apikeys', { name: 'x' }],
  ['DELETE', '/customers/{c}/apikeys/{key}'],
];

describe('tenant isolation over REST', () => {
  for (const [method, path, body] of routes) {
    it(`${method} ${path}: alice's key gets the same 403 for every other customer, and nothing changes`, async () => {
      const before = await snapshot();
      const bodies = new Set<string>();
      for (const target of targets()) {
        const res = await rest(method, path.replace('{c}', target).replace('{key}', bob.keyId), { key: alice.key, body });
        expect(res.status, `${method} ${target}`).toBe(403);
        expect(res.body.code).toBe('FORBIDDEN');
        bodies.add(JSON.stringify(res.body));
      }
      expect(bodies.size).toBe(1);
      expect(await snapshot()).toBe(before);
    });
  }

  it('refuses the operator routes to a customer key with 403', async () => {
    expect((await rest('GET', '/customers', { key: alice.key })).status).toBe(403);
    expect((await rest('POST', '/customers', { key: alice.key, body: { name: 'mallory' } })).status).toBe(403);
  });

  it("alice's own uuid, id, name and self reach alice; bob's key still works", async () => {
    for (const id of [alice.uuid, String(alice.id), 'alice', 'self']) {
      expect((await rest('GET', `/customers/${id}`, { key: alice.key })).body.name).toBe('alice');
    }
    expect((await rest('GET', '/customers/self/concurrency-limit', { key: bob.key })).body).toEqual({ limit: 9 });
  });
});
