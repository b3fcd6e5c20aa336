import { execute, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/kernel/errors.js';
import { schema } from '../../src/graphql/schema.js';
import { customer, customerKey, fakeContext, systemKey, type Fixture } from './fake-context.js';

/**
 * The schema tier: queries executed against the schema itself (graphql's `execute`), with loaders
 * that answer from fixtures. It proves what the resolvers and the service layer decide (who may read
 * which customer, what each field answers, how lookups batch) without a database or HTTP.
 */
const acme = customer('Acme', { billingPlan: { concurrency: 8 }, profile: { 'contact-name': 'Wile' } });
const globex = customer('Globex');
const gone = customer('Gone Ltd', { deletedAt: new Date('2026-02-01T00:00:00Z') });
const fixtures: Fixture[] = [
  { customer: acme, settings: { 'concurrency-limit': 12 }, keys: [{ keyId: 'key_acme1', name: 'main' }, { keyId: 'key_acme2', name: 'old', active: false }] },
  { customer: globex, settings: {} },
  { customer: gone },
];

async function run(principal: Parameters<typeof fakeContext>[0], query: string, variables?: Record<string, unknown>) {
  const fake = fakeContext(principal, fixtures);
  const result = (await execute({ schema, document: parse(query), contextValue: fake.context, variableValues: variables })) as ExecutionResult<any>;
  const codes = (result.errors ?? []).map((e) => (e.originalError instanceof AppError ? e.originalError.code : `uncoded: ${e.message}`));
  return { ...result, codes, batches: fake.customerBatches };
}

describe('a customer key', () => {
  it('reads its own customer as self, with settings, limits and keys (never a secret hash)', async () => {
    const r = await run(
      customerKey(acme),
      `{ customer { uuid name profile billingPlan settings { concurrencyLimit values items { name value } }
                    concurrencyLimit { limit } concurrencyHardCap effectiveConcurrencyLimit
                    apiKeys { keyId name active type } } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.customer).toEqual({
      uuid: acme.uuid,
      name: 'Acme',
      profile: { 'contact-name': 'Wile' },
      billingPlan: { concurrency: 8 },
      settings: { concurrencyLimit: 12, values: { 'concurrency-limit': 12 }, items: [{ name: 'concurrency-limit', value: 12 }] },
      concurrencyLimit: { limit: 12 },
      concurrencyHardCap: 8,
      // The lower of the soft limit (12) and the plan's hard cap (8).
      effectiveConcurrencyLimit: 8,
      apiKeys: [
        { keyId: 'key_acme1', name: 'main', active: true, type: 'customer' },
        { keyId: 'key_acme2', name: 'old', active: false, type: 'customer' },
      ],
    });
    expect(JSON.stringify(r.data)).not.toContain('f'.repeat(64));
  });

  it('reads itself by uuid, id and name, and `me` is itself', async () => {
    const r = await run(customerKey(acme), `query($uuid: ID!, $id: ID!) { a: customer(id: $uuid) { name } b: customer(id: $id) { name } c: customer(id: "Acme") { name } me { name } }`, {
      uuid: acme.uuid,
      id: String(acme.id),
    });
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: { name: 'Acme' }, b: { name: 'Acme' }, c: { name: 'Acme' }, me: { name: 'Acme' } });
  });

  it('is refused any other customer, existing or not, alike (FORBIDDEN), each alias on its own', async () => {
    const r = await run(
      customerKey(acme),
      `query($uuid: ID!) { own: customer { name } other: customer(id: "Globex") { name } byUuid: customer(id: $uuid) { name } missing: customer(id: "Nobody") { name } deleted: customer(id: "Gone Ltd") { name } }`,
      { uuid: globex.uuid },
    );
    expect(r.data).toEqual({ own: { name: 'Acme' }, other: null, byUuid: null, missing: null, deleted: null });
    expect(r.codes).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
  });

  it('whose customer is gone reads nothing: the key no longer authenticates (UNAUTHENTICATED)', async () => {
    const r = await run(customerKey(gone), '{ customer { name } me { name } }');
    expect(r.data).toEqual({ customer: null, me: null });
    expect(r.codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('is not a system key: the customers list is refused', async () => {
    const r = await run(customerKey(acme), '{ customers(first: 5) { edges { node { name } } } }');
    expect(r.codes).toEqual(['FORBIDDEN']);
  });
});

describe('a system key', () => {
  it('reads any customer by uuid, id or name; a missing or deleted one is NOT_FOUND; self is BAD_REQUEST', async () => {
    const r = await run(
      systemKey,
      `query($uuid: ID!, $id: ID!) { a: customer(id: $uuid) { name } b: customer(id: $id) { name } c: customer(id: "Acme") { settings { concurrencyLimit } }
         missing: customer(id: "Nobody") { name } deleted: customer(id: "Gone Ltd") { name } self: customer(id: "self") { name } me { name } }`,
      { uuid: globex.uuid, id: String(acme.id) },
    );
    expect(r.data).toEqual({ a: { name: 'Globex' }, b: { name: 'Acme' }, c: { settings: { concurrencyLimit: 12 } }, missing: null, deleted: null, self: null, me: null });
    expect(r.codes.sort()).toEqual(['BAD_REQUEST', 'NOT_FOUND', 'NOT_FOUND']);
  });

  it('asks the customer loader once for every aliased lookup of one operation', async () => {
    const r = await run(systemKey, `query($uuid: ID!) { a: customer(id: $uuid) { name } b: customer(id: "Acme") { name } c: customer(id: "${globex.id}") { name } d: customer(id: "Acme") { id } }`, {
      uuid: acme.uuid,
    });
    expect(r.errors).toBeUndefined();
    expect(r.batches).toHaveLength(1);
    expect([...r.batches[0]!].sort()).toEqual([`id:${globex.id}`, 'name:Acme', `uuid:${acme.uuid}`].sort());
  });
});

describe('a refused write is refused before it reaches the database', () => {
  // The database throws here (fake-context.ts): each refusal is decided by the service layer first.
  it.each([
    ['another customer', 'setConcurrencyLimit(customer: "Globex", limit: 3) { name }', 'FORBIDDEN'],
    ['a customer that does not exist, to a customer key', 'setConcurrencyLimit(customer: "Nobody", limit: 3) { name }', 'FORBIDDEN'],
    ['a negative limit', 'setConcurrencyLimit(limit: -1) { name }', 'BAD_REQUEST'],
    ['an unknown setting', 'setCustomerSetting(name: "colour", value: "blue") { name }', 'BAD_REQUEST'],
    ['a customer key creating a customer', 'createCustomer(input: { name: "Initech" }) { name }', 'FORBIDDEN'],
  ])('%s: %s', async (_label, field, code) => {
    const r = await run(customerKey(acme), `mutation { ${field} }`);
    expect(r.data).toBeNull();
    expect(r.codes).toEqual([code]);
  });
});
