import { isNonNullType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertKey } from '../src/domain/auth/api-keys.js';
import { generateSecret } from '../src/kernel/secrets.js';
import { statusOf } from '../src/kernel/errors.js';
import { schema } from '../src/graphql/schema.js';
import type { Route } from '../src/rest/routes.js';
import { dumpDatabase, type Dump } from './db-dump.js';
import { createTestApp, type TestApp } from './helpers.js';
import { fillPath, operationFor, pathParams, rootFields, routeTable, sampleBody, sampleInput, type RootField } from './samples.js';

/**
 * Contract section 2 as a matrix, generated: every REST route of the router's own table and every
 * GraphQL query and mutation, each called by every kind of caller against every kind of target.
 * A route or field added later is in the matrix without editing this file.
 *
 *   missing, malformed, unknown, revoked key     401 UNAUTHENTICATED
 *   key of an inactive customer                  403 FORBIDDEN
 *   customer key, another customer (uuid, id,    403 FORBIDDEN, one body for all of them
 *     name; existing or not)
 *   customer key, operator-only operation        403 FORBIDDEN
 *   customer key, self (or the default)          the operation's success, or 404 (e.g. a setting not set)
 *   system key, self                             400 BAD_REQUEST
 *
 * After every refused call (any 4xx) the customers, settings and API keys are as they were.
 */

type Expect =
  | 'unauthenticated' // 401
  | 'inactive' // 403
  | 'other' // 403, one body per operation
  | 'own' // success or 404
  | 'not-own-key' // 404: self, with another customer's keyId
  | 'system' // success or 404
  | 'system-missing' // 404
  | 'system-self'; // 400

interface Cell {
  label: string;
  expect: Expect;
  /** The Authorization header. */
  authorization: () => string | undefined;
  /** The customer named; undefined: leave the argument out (GraphQL default). */
  target: () => string | undefined;
  keyId: () => string;
}

// The cast of the matrix, made in beforeAll.
let t: TestApp;
let alice: Awaited<ReturnType<TestApp['customer']>>;
let bob: Awaited<ReturnType<TestApp['customer']>>;
let dormant: Awaited<ReturnType<TestApp['customer']>>;
let revokedSecret: string;
let suspendedSecret: string;
let goneSecret: string;
let gone: Awaited<ReturnType<TestApp['customer']>>;
/** Customers that a successful delete may take, one per cell (the operator's cells of deleting operations). */
const victims: string[] = [];
/** Keys that cells may revoke (revoking again is a 204 / the same key). */
let aliceSpareKeyId: string;
let bobSpareKeyId: string;

const NO_UUID = '7d1e5bbc-5a0b-4c1f-9d53-2b1ad1c2e0f1';
const NO_ID = '2147480000';
const NO_NAME = 'Nobody & Sons/EU';
const bearer = (secret: string) => `Bearer ${secret}`;

/** The callers: bad credentials first (aimed at alice herself), then alice's key, then the system key. */
function cells(options: { namesCustomer: boolean; hasKeyId: boolean; hasDefault: boolean; deletesCustomer?: boolean }): Cell[] {
  const own = () => alice.uuid;
  const aliceKey = () => bearer(alice.key);
  const list: Cell[] = [
    { label: 'no Authorization header', expect: 'unauthenticated', authorization: () => undefined, target: own, keyId: () => aliceSpareKeyId },
    { label: 'malformed: Basic scheme', expect: 'unauthenticated', authorization: () => `Basic ${alice.key}`, target: own, keyId: () => aliceSpareKeyId },
    { label: 'malformed: no scheme', expect: 'unauthenticated', authorization: () => alice.key, target: own, keyId: () => aliceSpareKeyId },
    { label: 'malformed: Bearer and nothing', expect: 'unauthenticated', authorization: () => 'Bearer ', target: own, keyId: () => aliceSpareKeyId },
    { label: 'malformed: secret one character short', expect: 'unauthenticated', authorization: () => bearer(alice.key.slice(0, -1)), target: own, keyId: () => aliceSpareKeyId },
    { label: 'malformed: secret one character long', expect: 'unauthenticated', authorization: () => bearer(`${alice.key}A`), target: own, keyId: () => aliceSpareKeyId },
    { label: 'malformed: two tokens', expect: 'unauthenticated', authorization: () => `${bearer(alice.key)} ${alice.key}`, target: own, keyId: () => aliceSpareKeyId },
    { label: 'unknown key', expect: 'unauthenticated', authorization: () => bearer(generateSecret()), target: own, keyId: () => aliceSpareKeyId },
    { label: 'deleted key', expect: 'unauthenticated', authorization: () => bearer(revokedSecret), target: own, keyId: () => aliceSpareKeyId },
    { label: 'suspended key', expect: 'unauthenticated', authorization: () => bearer(suspendedSecret), target: own, keyId: () => aliceSpareKeyId },
    { label: "deleted customer's key", expect: 'unauthenticated', authorization: () => bearer(goneSecret), target: () => 'self', keyId: () => aliceSpareKeyId },
    { label: "inactive customer's key", expect: 'inactive', authorization: () => bearer(dormant.key), target: () => 'self', keyId: () => aliceSpareKeyId },
  ];
  if (!options.namesCustomer) {
    list.push(
      { label: 'customer key', expect: 'own', authorization: aliceKey, target: () => undefined, keyId: () => aliceSpareKeyId },
      { label: 'system key', expect: 'system', authorization: () => bearer(t.systemKey), target: () => undefined, keyId: () => bobSpareKeyId },
    );
    return list;
  }
  const other = (label: string, target: () => string): Cell => ({ label, expect: 'other', authorization: aliceKey, target, keyId: () => bobSpareKeyId });
  list.push(
    other('customer key, another customer by uuid', () => bob.uuid),
    other('customer key, another customer by upper-case uuid', () => bob.uuid.toUpperCase()),
    other('customer key, another customer by id', () => String(bob.id)),
    other('customer key, another customer by name', () => bob.name),
    other('customer key, a customer that does not exist, by uuid', () => NO_UUID),
    other('customer key, a customer that does not exist, by id', () => NO_ID),
    other('customer key, a customer that does not exist, by name', () => NO_NAME),
    { label: 'customer key, self', expect: 'own', authorization: aliceKey, target: () => 'self', keyId: () => aliceSpareKeyId },
    { label: 'customer key, own uuid', expect: 'own', authorization: aliceKey, target: () => alice.uuid, keyId: () => aliceSpareKeyId },
  );
  if (options.hasDefault) {
    list.push({ label: 'customer key, customer left out (self)', expect: 'own', authorization: aliceKey, target: () => undefined, keyId: () => aliceSpareKeyId });
  }
  if (options.hasKeyId) {
    list.push({ label: "customer key, self with another customer's keyId", expect: 'not-own-key', authorization: aliceKey, target: () => 'self', keyId: () => bobSpareKeyId });
  }
  list.push(
    {
      label: 'system key, a customer',
      expect: 'system',
      authorization: () => bearer(t.systemKey),
      // A delete that succeeds takes its target: give it one of its own, so bob stays for the rest.
      target: options.deletesCustomer ? () => victims.shift()! : () => bob.uuid,
      keyId: () => bobSpareKeyId,
    },
    { label: 'system key, a customer that does not exist', expect: 'system-missing', authorization: () => bearer(t.systemKey), target: () => NO_NAME, keyId: () => bobSpareKeyId },
    { label: 'system key, a deleted customer', expect: 'system-missing', authorization: () => bearer(t.systemKey), target: () => gone.uuid, keyId: () => bobSpareKeyId },
    { label: 'system key, self', expect: 'system-self', authorization: () => bearer(t.systemKey), target: () => 'self', keyId: () => bobSpareKeyId },
  );
  return list;
}

/** What a cell must answer: the statuses allowed and, for errors, the code. */
function expectation(cell: Cell, who: 'anyone' | 'owner or system' | 'system', success: number): { statuses: number[]; code?: string } {
  if (who === 'anyone') return { statuses: [success] };
  switch (cell.expect) {
    case 'unauthenticated':
      return { statuses: [401], code: 'UNAUTHENTICATED' };
    case 'inactive':
    case 'other':
      return { statuses: [403], code: 'FORBIDDEN' };
    case 'own':
      return who === 'system' ? { statuses: [403], code: 'FORBIDDEN' } : { statuses: [success, 404] };
    case 'not-own-key':
      return { statuses: [404], code: 'NOT_FOUND' };
    case 'system':
      return { statuses: [success, 404] };
    case 'system-missing':
      return { statuses: [404], code: 'NOT_FOUND' };
    case 'system-self':
      return { statuses: [400], code: 'BAD_REQUEST' };
  }
}

/**
 * An existing customer's operation may be a 404 only for what it names inside the customer (a
 * setting not set, a key it does not have), never for the customer or the path.
 */
function expectSubresourceMissing(message: string, what: string) {
  expect(message, what).not.toMatch(/no customer is named|no such path/i);
}

// The database as the last refused call left it: a refused call changes nothing, so the next
// cell's "before" is the last "after" (one dump per refused call, a fresh one after a success).
let known: Dump | undefined;
async function before(): Promise<Dump> {
  return (known ??= await dumpDatabase(t));
}
async function after(status: number, dump: Dump, what: string) {
  if (status < 400) {
    known = undefined;
    return;
  }
  const now = await dumpDatabase(t);
  expect(now, `${what}: the database changed on a refused call`).toEqual(dump);
  known = now;
}

beforeAll(async () => {
  t = await createTestApp();
  alice = await t.customer('alice');
  // Characters that need encoding in a path, and a name that reads like a path.
  bob = await t.customer('Bob & Co/NL 100%');
  dormant = await t.customer('dormant', { active: false });
  const db = t.database.prisma;
  aliceSpareKeyId = (await insertKey(db, { name: 'spare', type: 'customer', customerId: alice.id })).keyId;
  bobSpareKeyId = (await insertKey(db, { name: 'spare', type: 'customer', customerId: bob.id })).keyId;
  const revoked = await insertKey(db, { name: 'revoked', type: 'customer', customerId: alice.id });
  revokedSecret = revoked.secret;
  const res = await t.http('DELETE', `/customers/alice/apikeys/${revoked.keyId}`, { key: t.systemKey });
  expect(res.status).toBe(204);
  const suspended = await insertKey(db, { name: 'suspended', type: 'customer', customerId: alice.id });
  suspendedSecret = suspended.secret;
  // Written straight to the database: let the read cache hear of it before reading through the app.
  await t.services.readCache.sync();
  expect((await t.http('PATCH', `/customers/alice/apikeys/${suspended.keyId}`, { key: t.systemKey, body: { active: false } })).status).toBe(200);
  gone = await t.customer('gone');
  goneSecret = gone.key;
  expect((await t.http('DELETE', `/customers/gone`, { key: t.systemKey })).status).toBe(204);
  for (let i = 0; i < 4; i++) victims.push((await t.customer(`victim-${i}`)).uuid);
  // Something for the reads and removals to find.
  for (const c of [alice, bob]) {
    expect((await t.http('PUT', `/customers/${c.uuid}/concurrency-limit`, { key: t.systemKey, body: { limit: 7 } })).status).toBe(200);
  }
});
afterAll(() => t?.close());

// ---- REST -------------------------------------------------------------------------------------

const routes = routeTable();
/** The values of the path parameters other than the customer. */
const PARAMS: Record<string, (cell: Cell) => string> = {
  name: () => 'concurrency-limit',
  key: (cell) => cell.keyId(),
};

/** Operations that delete the customer they name. */
const deletesCustomer = (route: Route) => route.method === 'DELETE' && route.path.endsWith('{customer}');

describe('the samples the matrix sends', () => {
  it('the route table is the one the app serves (its OpenAPI document lists the same operations)', async () => {
    const document = (await (await t.http('GET', '/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`));
    expect(served.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('every path parameter has a value and every body a valid sample', () => {
    for (const route of routes) {
      for (const param of pathParams(route)) expect(param === 'customer' || param in PARAMS, `{${param}} of ${route.path}`).toBe(true);
      if (route.body) expect(route.body.safeParse(sampleBody(route)).success, `${route.method} ${route.path}`).toBe(true);
    }
  });
});

/** Every route as the router serves it: HEAD wherever GET is (the same rules, no body). */
const restCalls = routes.flatMap((route) => (route.method === 'GET' ? [{ method: 'GET', route }, { method: 'HEAD', route }] : [{ method: route.method, route }]));

describe.each(restCalls.map((call) => [`${call.method} ${call.route.path}`, call] as const))('REST %s', (_, { method, route }: { method: string; route: Route }) => {
  const params = pathParams(route);
  const namesCustomer = params.includes('customer');
  const otherBodies = new Set<string>();

  it.each(cells({ namesCustomer, hasKeyId: params.includes('key'), hasDefault: false, deletesCustomer: deletesCustomer(route) }).map((c) => [c.label, c] as const))(
    '%s',
    async (_label, cell: Cell) => {
      const values = Object.fromEntries(params.map((p) => [p, p === 'customer' ? cell.target()! : PARAMS[p]!(cell)]));
      const path = fillPath(route.path, values);
      const headers: Record<string, string> = {};
      const authorization = cell.authorization();
      if (authorization !== undefined) headers.authorization = authorization;
      const dump = await before();
      const res = await t.http(method, path, { headers, body: sampleBody(route) });
      const text = await res.text();
      const what = `${method} ${path} (${cell.label}) → ${res.status} ${text.slice(0, 200)}`;
      const { statuses, code } = expectation(cell, route.who, route.status);
      expect(statuses, what).toContain(res.status);
      if (method === 'HEAD') {
        expect(text, what).toBe('');
      } else if (res.status >= 400) {
        const body = JSON.parse(text);
        expect(body, what).toEqual({ status: false, code: code ?? body.code, message: expect.any(String) });
        expect(statusOf[body.code as keyof typeof statusOf], what).toBe(res.status);
        if (res.status === 404) expect(body.code).toBe('NOT_FOUND');
        if (cell.expect === 'own' || cell.expect === 'system') expectSubresourceMissing(body.message, what);
        if (cell.expect === 'other') otherBodies.add(text);
      }
      await after(res.status, dump, what);
    },
  );

  if (namesCustomer && route.who !== 'anyone' && method !== 'HEAD') {
    it('answers another customer, existing or not, with one and the same body', () => {
      expect([...otherBodies]).toHaveLength(1);
    });
  }
});

// ---- GraphQL ----------------------------------------------------------------------------------

const fields = rootFields(schema);

/**
 * Fields that name no customer: who may call them. A new one fails the first test below until it
 * is classified here ('anyone' means any valid key; such a field answers about the key's owner).
 */
const UNSCOPED: Record<string, 'anyone' | 'system'> = { me: 'anyone', customers: 'system', createCustomer: 'system' };
/** Fields that name a customer but are the operator's alone. */
const OPERATOR_ONLY = new Set(['deleteCustomer']);

/** Argument values by name; other required arguments get a sample of their type. */
const ARGS: Record<string, (cell: Cell) => unknown> = {
  keyId: (cell) => cell.keyId(),
  key: (cell) => cell.keyId(),
  // A supported setting, and a fine key label too.
  name: () => 'concurrency-limit',
  value: () => 5,
  limit: () => 5,
  profile: () => ({ matrix: true }),
};

function argumentsFor(root: RootField, cell: Cell): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const arg of root.field.args) {
    if (arg === root.customerArg) args[arg.name] = cell.target();
    else if (ARGS[arg.name]) args[arg.name] = ARGS[arg.name]!(cell);
    else if (isNonNullType(arg.type) && arg.defaultValue === undefined) args[arg.name] = sampleInput(arg.type);
  }
  return args;
}

describe('the GraphQL fields of the matrix', () => {
  it('every field that names no customer is classified', () => {
    expect(fields.filter((f) => !f.customerArg).map((f) => f.name).sort()).toEqual(Object.keys(UNSCOPED).sort());
  });
});

describe.each(fields.map((root) => [`${root.operation} ${root.name}`, root] as const))('GraphQL %s', (_, root: RootField) => {
  const who = root.customerArg && !OPERATOR_ONLY.has(root.name) ? 'owner or system' : (UNSCOPED[root.name] ?? 'system');
  const otherBodies = new Set<string>();
  const hasDefault = root.customerArg?.defaultValue === 'self';

  it.each(
    cells({
      namesCustomer: !!root.customerArg,
      hasKeyId: root.field.args.some((a) => a.name === 'keyId' || a.name === 'key'),
      hasDefault,
      deletesCustomer: root.name === 'deleteCustomer',
    }).map(
      (c) => [c.label, c] as const,
    ),
  )('%s', async (_label, cell: Cell) => {
    const { query, variables } = operationFor(root, argumentsFor(root, cell));
    const headers: Record<string, string> = {};
    const authorization = cell.authorization();
    if (authorization !== undefined) headers.authorization = authorization;
    const dump = await before();
    const res = await t.http('POST', '/graphql', { headers, body: { query, variables } });
    const text = await res.text();
    const json = JSON.parse(text) as { data?: unknown; errors?: { extensions?: { code?: string; http?: { status?: number } } }[] };
    const what = `${query} ${JSON.stringify(variables)} (${cell.label}) → ${res.status} ${text.slice(0, 300)}`;
    const { statuses, code } = expectation(cell, who === 'anyone' ? 'owner or system' : who, 200);
    // A nullable root field that is refused answers a partial result: 200, the field null, and
    // the refusal in `errors` with its own status.
    const partial = json.data != null && !!json.errors?.length;
    if (partial) {
      expect(res.status, what).toBe(200);
      expect(Object.values(json.data as object), what).toEqual([null]);
    }
    const status = partial ? json.errors![0]!.extensions!.http!.status! : res.status;
    expect(statuses, what).toContain(status);
    if (status === 200) {
      expect(json.errors, what).toBeUndefined();
    } else {
      expect(json.errors, what).toHaveLength(1);
      const error = json.errors![0]!;
      expect(error.extensions?.code, what).toBe(code ?? (status === 404 ? 'NOT_FOUND' : error.extensions?.code));
      expect(error.extensions?.http?.status, what).toBe(status);
      if (cell.expect === 'own' || cell.expect === 'system') expectSubresourceMissing((error as { message: string }).message, what);
      if (cell.expect === 'other') otherBodies.add(text);
    }
    await after(status, dump, what);
  });

  if (root.customerArg) {
    it('answers another customer, existing or not, with one and the same body', () => {
      expect([...otherBodies]).toHaveLength(1);
    });
  }
});
