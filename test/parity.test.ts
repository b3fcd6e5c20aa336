import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';
import { createRestClient } from './rest-client.js';

/**
 * REST and GraphQL are two doors to the same services: after the same sequence of writes, made
 * through either door, both describe the same state, and a write one door refuses the other
 * refuses with the same code and status.
 */
let t: TestApp;
let rest: Awaited<ReturnType<typeof createRestClient>>['rest'];
beforeAll(async () => {
  t = await createTestApp();
  ({ rest } = await createRestClient(t));
});
afterAll(() => t.close());

interface Handle {
  uuid: string;
  key: string;
  /** What one step leaves for a later one (e.g. the keyId of a key it issued). */
  memo: Record<string, string>;
}

/** How a write ended: success, or the error's code and status. */
type Outcome = { ok: true } | { ok: false; code: string; status: number };

const seconds = (iso: string | null) => (iso === null ? null : `${iso.slice(0, 19)}Z`);

const FIELDS = `id uuid name active createdAt modifiedAt lastActivity profile billingPlan deletedAt
  settings { values items { name value createdAt modifiedAt } }
  concurrencyLimit { limit }
  apiKeys { id keyId name type active createdAt modifiedAt lastUsedAt }`;

/** The state of a customer as GraphQL describes it, in REST's shapes. */
async function viaGraphQL(key: string, customer: string) {
  const res = await t.gql(key, `query($c: ID!) { customer(id: $c) { ${FIELDS} } }`, { c: customer });
  expect(res.errors).toBeUndefined();
  const g = res.data.customer;
  return {
    customer: {
      name: g.name,
      uuid: g.uuid,
      id: g.id,
      profile: g.profile,
      active: g.active,
      createdAt: seconds(g.createdAt),
      modifiedAt: seconds(g.modifiedAt),
      settings: g.settings.values,
      lastActivity: seconds(g.lastActivity),
      billingPlan: g.billingPlan,
      deletedAt: seconds(g.deletedAt),
    },
    settings: g.settings.items.map((s: any) => ({ ...s, createdAt: seconds(s.createdAt), modifiedAt: seconds(s.modifiedAt) })),
    concurrencyLimit: g.concurrencyLimit,
    apiKeys: g.apiKeys.map((k: any) => ({ ...k, createdAt: seconds(k.createdAt), modifiedAt: seconds(k.modifiedAt), lastUsedAt: seconds(k.lastUsedAt) })),
  };
}

/** The state of a customer as REST describes it. */
async function viaRest(key: string, customer: string) {
  const path = `/customers/${encodeURIComponent(customer)}`;
  const read = async (p: string) => {
    const res = await rest('GET', p, { key });
    expect(res.status, p).toBe(200);
    return res.body;
  };
  const names = Object.keys(await read(`${path}/settings`)).sort();
  const limit = await rest('GET', `${path}/concurrency-limit`, { key });
  expect([200, 404]).toContain(limit.status);
  return {
    customer: await read(path),
    settings: await Promise.all(names.map((name) => read(`${path}/settings/${encodeURIComponent(name)}`))),
    concurrencyLimit: limit.status === 404 ? null : limit.body,
    apiKeys: await read(`${path}/apikeys`),
  };
}

/** Both doors agree about the customer, read by the operator and (while active) by its own key; answers REST's view. */
async function agree(handle: Handle) {
  await t.services.activity.flush();
  const state = await viaRest(t.systemKey, handle.uuid);
  expect(state).toEqual(await viaGraphQL(t.systemKey, handle.uuid));
  if (state.customer.active) expect(await viaRest(handle.key, 'self')).toEqual(await viaGraphQL(handle.key, 'self'));
  return state;
}

/** A state without what necessarily differs between two customers (identity, times, key ids). */
function comparable(state: Awaited<ReturnType<typeof viaRest>>) {
  const { profile, active, settings, billingPlan } = state.customer;
  return {
    customer: { profile, active, settings, billingPlan },
    settings: state.settings.map((s: any) => ({ name: s.name, value: s.value })),
    concurrencyLimit: state.concurrencyLimit,
    apiKeys: state.apiKeys.map((k: any) => ({ name: k.name, type: k.type, active: k.active })),
  };
}

async function restOutcome(res: Promise<{ status: number; body: any }>): Promise<Outcome> {
  const { status, body } = await res;
  return status < 300 ? { ok: true } : { ok: false, code: body.code, status };
}

async function gqlOutcome(res: ReturnType<TestApp['gql']>): Promise<Outcome> {
  const { errors } = await res;
  if (!errors) return { ok: true };
  return { ok: false, code: errors[0]!.extensions!.code!, status: errors[0]!.extensions!.http!.status! };
}

interface Step {
  name: string;
  rest(h: Handle): Promise<Outcome>;
  gql(h: Handle): Promise<Outcome>;
}

/** The same write, once per door. */
const steps: Step[] = [
  {
    name: 'set the concurrency limit',
    rest: (h) => restOutcome(rest('PUT', '/customers/self/concurrency-limit', { key: h.key, body: { limit: 5 } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setConcurrencyLimit(limit: 5) { id } }')),
  },
  {
    name: 'set a setting by name and value',
    rest: (h) => restOutcome(rest('POST', '/customers/self/settings', { key: h.key, body: { name: 'concurrency-limit', value: 7 } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setCustomerSetting(name: "concurrency-limit", value: 7) { id } }')),
  },
  {
    name: 'replace a setting to 0',
    rest: (h) => restOutcome(rest('PUT', '/customers/self/settings/concurrency-limit', { key: h.key, body: { value: 0 } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setCustomerSetting(name: "concurrency-limit", value: 0) { id } }')),
  },
  {
    name: 'merge into the profile',
    rest: (h) => restOutcome(rest('PATCH', '/customers/self', { key: h.key, body: { profile: { 'contact-name': 'Ada', tags: ['a', 1, null] } } })),
    gql: (h) =>
      gqlOutcome(t.gql(h.key, 'mutation($p: JSONObject!) { mergeCustomerProfile(patch: $p) { id } }', { p: { 'contact-name': 'Ada', tags: ['a', 1, null] } })),
  },
  {
    name: 'the operator deactivates the customer and sets a plan',
    rest: (h) => restOutcome(rest('PATCH', `/customers/${h.uuid}`, { key: t.systemKey, body: { active: false, billingPlan: { concurrency: 3, tier: 'gold' } } })),
    gql: (h) =>
      gqlOutcome(t.gql(t.systemKey, `mutation { updateCustomer(customer: "${h.uuid}", input: {active: false, billingPlan: {concurrency: 3, tier: "gold"}}) { id } }`)),
  },
  {
    name: "the inactive customer's own write is refused",
    rest: (h) => restOutcome(rest('PUT', '/customers/self/concurrency-limit', { key: h.key, body: { limit: 1 } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setConcurrencyLimit(limit: 1) { id } }')),
  },
  {
    name: 'the operator reactivates the customer and removes the plan',
    rest: (h) => restOutcome(rest('PATCH', `/customers/${h.uuid}`, { key: t.systemKey, body: { active: true, billingPlan: null } })),
    gql: (h) => gqlOutcome(t.gql(t.systemKey, `mutation { updateCustomer(customer: "${h.uuid}", input: {active: true, billingPlan: null}) { id } }`)),
  },
  {
    name: 'an invalid value is refused',
    rest: (h) => restOutcome(rest('PUT', '/customers/self/concurrency-limit', { key: h.key, body: { limit: -1 } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setConcurrencyLimit(limit: -1) { id } }')),
  },
  {
    name: 'an unknown setting is refused',
    rest: (h) => restOutcome(rest('POST', '/customers/self/settings', { key: h.key, body: { name: 'colour', value: 'blue' } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setCustomerSetting(name: "colour", value: "blue") { id } }')),
  },
  {
    name: 'the customer may not change its own plan',
    rest: (h) => restOutcome(rest('PATCH', '/customers/self', { key: h.key, body: { billingPlan: { concurrency: 1000 } } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { updateCustomer(customer: "self", input: {billingPlan: {concurrency: 1000}}) { id } }')),
  },
  {
    name: 'remove the setting',
    rest: (h) => restOutcome(rest('DELETE', '/customers/self/settings/concurrency-limit', { key: h.key })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { removeCustomerSetting(name: "concurrency-limit") { id } }')),
  },
  {
    name: 'remove it again: not found',
    rest: (h) => restOutcome(rest('DELETE', '/customers/self/settings/concurrency-limit', { key: h.key })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { removeCustomerSetting(name: "concurrency-limit") { id } }')),
  },
  {
    name: 'set the limit in the other form',
    rest: (h) => restOutcome(rest('PUT', '/customers/self/concurrency-limit', { key: h.key, body: { value: 9 } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { setConcurrencyLimit(limit: 9) { id } }')),
  },
  {
    name: 'issue a key',
    async rest(h) {
      const res = await rest('POST', '/customers/self/apikeys', { key: h.key, body: { name: 'ci' } });
      h.memo.keyId = res.body.keyId;
      return restOutcome(Promise.resolve(res));
    },
    async gql(h) {
      const res = await t.gql(h.key, 'mutation { createApiKey(name: "ci") { apiKey { keyId } } }');
      h.memo.keyId = res.data.createApiKey.apiKey.keyId;
      return gqlOutcome(Promise.resolve(res));
    },
  },
  {
    name: 'revoke it',
    rest: (h) => restOutcome(rest('DELETE', `/customers/self/apikeys/${h.memo.keyId}`, { key: h.key })),
    gql: (h) => gqlOutcome(t.gql(h.key, `mutation { revokeApiKey(keyId: "${h.memo.keyId}") { keyId } }`)),
  },
  {
    name: 'issue another key',
    rest: (h) => restOutcome(rest('POST', '/customers/self/apikeys', { key: h.key, body: { name: 'ops' } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { createApiKey(name: "ops") { apiKey { keyId } } }')),
  },
  {
    name: 'suspend it, naming it by its name',
    rest: (h) => restOutcome(rest('PATCH', '/customers/self/apikeys/ops', { key: h.key, body: { active: false } })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { updateApiKey(key: "ops", input: { active: false }) { keyId } }')),
  },
  {
    name: 'revoke a key the customer does not have',
    rest: (h) => restOutcome(rest('DELETE', '/customers/self/apikeys/key_none', { key: h.key })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { revokeApiKey(keyId: "key_none") { keyId } }')),
  },
  {
    name: 'remove the concurrency limit',
    rest: (h) => restOutcome(rest('DELETE', '/customers/self/concurrency-limit', { key: h.key })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { removeConcurrencyLimit { id } }')),
  },
  {
    name: 'remove it again: not found',
    rest: (h) => restOutcome(rest('DELETE', '/customers/self/concurrency-limit', { key: h.key })),
    gql: (h) => gqlOutcome(t.gql(h.key, 'mutation { removeConcurrencyLimit { id } }')),
  },
];

/** Registers a customer and issues its first key through the given door. */
async function register(door: 'rest' | 'gql', name: string): Promise<Handle> {
  const profile = { 'contact-name': 'Grace', 'contact-email': 'grace@example.com' };
  if (door === 'rest') {
    const created = await rest('POST', '/customers', { key: t.systemKey, body: { name, profile } });
    const key = await rest('POST', `/customers/${encodeURIComponent(name)}/apikeys`, { key: t.systemKey, body: { name: 'first' } });
    return { uuid: created.body.uuid, key: key.body.secret, memo: {} };
  }
  const res = await t.gql(
    t.systemKey,
    'mutation($n: String!, $c: ID!, $p: JSONObject) { createCustomer(input: {name: $n, profile: $p}) { uuid } createApiKey(customer: $c, name: "first") { secret } }',
    { n: name, c: name, p: profile },
  );
  expect(res.errors).toBeUndefined();
  return { uuid: res.data.createCustomer.uuid, key: res.data.createApiKey.secret, memo: {} };
}

describe('REST and GraphQL parity', () => {
  it('the same writes through either door leave customers in the same state, read the same by both', async () => {
    const viaRestDoor = await register('rest', 'Parity REST Ltd');
    const viaGqlDoor = await register('gql', 'Parity GraphQL Ltd');
    expect(comparable(await agree(viaRestDoor))).toEqual(comparable(await agree(viaGqlDoor)));
    for (const step of steps) {
      const outcomes = [await step.rest(viaRestDoor), await step.gql(viaGqlDoor)];
      expect(outcomes[0], step.name).toEqual(outcomes[1]);
      const [a, b] = [await agree(viaRestDoor), await agree(viaGqlDoor)];
      expect(comparable(a), step.name).toEqual(comparable(b));
    }
  });

  it('writes alternating between the doors on one customer are read the same by both', async () => {
    const h = await register('rest', 'Parity Mixed/EU');
    const other = await register('gql', 'Parity Mirror');
    let door = 0;
    for (const step of steps) {
      // Alternate: this customer takes REST, then GraphQL, …; the mirror takes the other door.
      const [mine, theirs] = door++ % 2 === 0 ? [step.rest(h), step.gql(other)] : [step.gql(h), step.rest(other)];
      expect(await mine, step.name).toEqual(await theirs);
      expect(comparable(await agree(h)), step.name).toEqual(comparable(await agree(other)));
    }
  });

  it('the final state is what the steps say', async () => {
    const h = await register('gql', 'Parity Final');
    for (const step of steps) await step.rest(h);
    const state = await agree(h);
    expect(comparable(state)).toEqual({
      // Merged into the profile it was registered with.
      customer: {
        profile: { 'contact-name': 'Ada', 'contact-email': 'grace@example.com', tags: ['a', 1, null] },
        active: true,
        settings: {},
        billingPlan: null,
      },
      settings: [],
      concurrencyLimit: null,
      apiKeys: [
        { name: 'first', type: 'customer', active: true },
        { name: 'ops', type: 'customer', active: false },
      ],
    });
  });
});
