import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * The write path: what one write costs the database, what it waits for, and what a failed write
 * leaves behind.
 * - Every write of every door (REST in both dialects, GraphQL) is at most 2 SQL statements, counting
 *   every statement the pool sends for it, BEGIN and COMMIT included, once the key and the customer
 *   are cached (steady state).
 * - Writes to different customers do not wait for each other: there is no service-wide lock, only
 *   the customer's own row.
 * - A refused or failed write leaves no event and changes nothing; a write that changes nothing
 *   leaves no event.
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
let t: TestApp;

/**
 * Every statement the pool sends, as the database receives it. `t.queries` hears Prisma's query log
 * and the pool reads of `database.sql`, which leave out the BEGIN that opens a Prisma transaction,
 * so the statements are counted here instead, on each pooled connection: whatever path a write takes
 * to the pool (Prisma Client, its driver adapter, the pool itself), each statement is seen once.
 */
const sent: string[] = [];
function recordPoolStatements(pool: pg.Pool): void {
  const wrapped = new WeakSet<object>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query;
    client.query = function (this: pg.PoolClient, config: unknown, ...rest: unknown[]) {
      sent.push(typeof config === 'string' ? config : String((config as { text?: string } | undefined)?.text ?? config));
      return (query as (...args: unknown[]) => unknown).call(this, config, ...rest);
    } as typeof client.query;
  });
}

/**
 * The periodic activity flush (`lastActivity`, keys' `lastUsedAt`, written every ACTIVITY_FLUSH_MS
 * by a timer, whatever the requests are) is not part of any request: a statement that only sets
 * those columns is left out of a request's count. It is recognised by its text.
 */
const activityFlush = /^\s*UPDATE\s[\s\S]*?\bSET\s+"?(?:last_activity|last_used_at)"?\s*=/i;

beforeAll(async () => {
  t = await createTestApp();
  recordPoolStatements(t.database.pool);
});
afterAll(() => t.close());

type Customer = Awaited<ReturnType<TestApp['customer']>>;
interface Key {
  keyId: string;
  name: string;
  secret: string;
}

const json = async (res: Response) => (await res.json()) as any;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A key of `c` besides its own, made through the API (so the process knows of it). */
async function spareKey(c: Customer, name: string): Promise<Key> {
  const res = await t.http('POST', `/customers/${c.uuid}/apikeys`, { key: t.systemKey, body: { name } });
  expect(res.status).toBe(201);
  const body = await json(res);
  return { keyId: body.keyId, name: body.name, secret: body.secret };
}

async function ok(res: Promise<Response>, status = 200): Promise<any> {
  const answer = await res;
  const text = await answer.text();
  expect(answer.status, text).toBe(status);
  return text ? JSON.parse(text) : undefined;
}

/** Reads as the writer would: the customer, its settings and its keys, by the key that writes next. */
async function warmUp(key: string, c: Customer | undefined): Promise<void> {
  if (!c) {
    await ok(t.http('GET', '/customers?limit=1', { key }));
    return;
  }
  const who = key === c.key ? 'self' : c.uuid;
  await ok(t.http('GET', `/customers/${who}`, { key }));
  await ok(t.http('GET', `/customers/${who}/settings`, { key }));
  await ok(t.http('GET', `/customers/${who}/apikeys`, { key }));
}

/**
 * Lets everything a previous request set off settle: on PostgreSQL, the change feed's notifications
 * of earlier writes are applied (so none drops a cached customer mid-request); everywhere, the
 * activity noted by earlier requests is written now rather than during the counted request.
 */
async function settle(): Promise<void> {
  await t.services.activity.flush();
  if (t.database.kind === 'postgres') await t.services.readCache.sync();
  await sleep(20);
}

interface Context {
  c: Customer;
  key?: Key;
  /** The key that writes: the customer's own or the system key. */
  writer: string;
  /** `self` for the customer's own key, its uuid for the system key. */
  who: string;
  /** A name for a customer to create. */
  fresh: string;
}

interface WriteCase {
  name: string;
  by: 'owner' | 'system';
  /** State the write needs, made (through the API) before the warm-up. */
  given?: (x: Context) => Promise<Partial<Context> | void>;
  /** REST: method, path, body. */
  rest?: (x: Context) => { method: string; path: string; body?: unknown };
  /** GraphQL: the mutation document. */
  gql?: (x: Context) => string;
  /** REST's success status (GraphQL: 200 with no errors). */
  status?: number;
  /** The write happened: read back through the API. */
  then: (x: Context, answer: any) => Promise<void>;
}

const LIMIT = 'concurrency-limit';
const limitOf = async (x: Context) => {
  const res = await t.http('GET', `/customers/${x.c.uuid}/concurrency-limit`, { key: t.systemKey });
  return res.status === 404 ? undefined : ((await json(res)) as { limit: number }).limit;
};
const customerOf = (x: Context) => ok(t.http('GET', `/customers/${x.c.uuid}`, { key: t.systemKey }));
const keyOf = async (x: Context) => {
  const res = await t.http('GET', `/customers/${x.c.uuid}/apikeys/${x.key!.keyId}`, { key: t.systemKey });
  return res.status === 404 ? undefined : ((await json(res)) as { name: string; active: boolean });
};
const withLimit = async (x: Context) => void (await ok(t.http('PUT', `/customers/${x.c.uuid}/concurrency-limit`, { key: t.systemKey, body: { limit: 3 } })));
const withProfile = async (x: Context) => void (await ok(t.http('PATCH', `/customers/${x.c.uuid}`, { key: t.systemKey, body: { profile: { keep: 'me' } } })));
const withKey = async (x: Context) => ({ key: await spareKey(x.c, `spare-${x.c.id}`) });
const withSuspendedKey = async (x: Context) => {
  const key = await spareKey(x.c, `spare-${x.c.id}`);
  await ok(t.http('PATCH', `/customers/${x.c.uuid}/apikeys/${key.keyId}`, { key: t.systemKey, body: { active: false } }));
  return { key };
};
const expectLimit = (limit: number | undefined) => async (x: Context) => expect(await limitOf(x)).toBe(limit);
const expectProfile = (profile: object) => async (x: Context) => expect((await customerOf(x)).profile).toEqual(profile);
const expectKey = (fields: { name?: string; active?: boolean }) => async (x: Context) => {
  const key = await keyOf(x);
  expect(key).toMatchObject({ name: fields.name ?? x.key!.name, ...(fields.active !== undefined && { active: fields.active }) });
  // A suspended key is refused; a resumed or renamed one is accepted.
  expect((await t.http('GET', '/customers/self', { key: x.key!.secret })).status).toBe(fields.active === false ? 401 : 200);
};
const expectNoKey = async (x: Context) => {
  expect(await keyOf(x)).toBeUndefined();
  expect((await t.http('GET', '/customers/self', { key: x.key!.secret })).status).toBe(401);
};
const expectCreated = async (x: Context) => expect((await ok(t.http('GET', `/customers/${encodeURIComponent(x.fresh)}`, { key: t.systemKey }))).name).toBe(x.fresh);
const expectDeleted = async (x: Context) => {
  expect((await t.http('GET', `/customers/${x.c.uuid}`, { key: t.systemKey })).status).toBe(404);
  expect((await t.http('GET', '/customers/self', { key: x.c.key })).status).toBe(401);
};

/** Every kind of write, through every door. */
const writes: WriteCase[] = [];
for (const p of ['customers', 'tenants'] as const) {
  const tenants = p === 'tenants';
  const created = tenants ? 200 : 201;
  const keys = tenants ? 'keys' : 'apikeys';
  writes.push(
    {
      name: `REST PUT /${p}/{c}/settings/{name}`,
      by: 'owner',
      rest: (x) => ({ method: 'PUT', path: `/${p}/${x.who}/settings/${LIMIT}`, body: { value: tenants ? '7' : 7 } }),
      then: expectLimit(7),
    },
    {
      name: `REST POST /${p}/{c}/settings`,
      by: 'owner',
      rest: (x) => ({ method: 'POST', path: `/${p}/${x.who}/settings`, body: { name: LIMIT, value: 8 } }),
      then: expectLimit(8),
    },
    {
      name: `REST DELETE /${p}/{c}/settings/{name}`,
      by: 'owner',
      given: withLimit,
      rest: (x) => ({ method: 'DELETE', path: `/${p}/${x.who}/settings/${LIMIT}` }),
      status: 204,
      then: expectLimit(undefined),
    },
    {
      name: `REST PUT /${p}/{c}/concurrency-limit (owner)`,
      by: 'owner',
      rest: (x) => ({ method: 'PUT', path: `/${p}/${x.who}/concurrency-limit`, body: { limit: 5 } }),
      then: expectLimit(5),
    },
    {
      name: `REST PUT /${p}/{c}/concurrency-limit (system key, replacing a limit)`,
      by: 'system',
      given: withLimit,
      rest: (x) => ({ method: 'PUT', path: `/${p}/${x.who}/concurrency-limit`, body: { limit: 6 } }),
      then: expectLimit(6),
    },
    {
      name: `REST DELETE /${p}/{c}/concurrency-limit`,
      by: 'owner',
      given: withLimit,
      rest: (x) => ({ method: 'DELETE', path: `/${p}/${x.who}/concurrency-limit` }),
      status: 204,
      then: expectLimit(undefined),
    },
    {
      name: `REST PATCH /${p}/{c} profile (merged)`,
      by: 'owner',
      given: withProfile,
      rest: (x) => ({ method: 'PATCH', path: `/${p}/${x.who}`, body: { profile: { added: 1 } } }),
      then: expectProfile({ keep: 'me', added: 1 }),
    },
    {
      name: `REST PATCH /${p}/{c} active (operator)`,
      by: 'system',
      rest: (x) => ({ method: 'PATCH', path: `/${p}/${x.who}`, body: { active: false } }),
      then: async (x) => {
        expect((await customerOf(x)).active).toBe(false);
        expect((await t.http('GET', '/customers/self', { key: x.c.key })).status).toBe(403);
      },
    },
    {
      name: `REST PATCH /${p}/{c} billingPlan (operator)`,
      by: 'system',
      rest: (x) => ({ method: 'PATCH', path: `/${p}/${x.who}`, body: { billingPlan: { concurrency: 9 } } }),
      then: async (x) => expect((await customerOf(x)).billingPlan).toEqual({ concurrency: 9 }),
    },
    {
      name: `REST POST /${p} (create a customer)`,
      by: 'system',
      rest: (x) => ({ method: 'POST', path: `/${p}`, body: { name: x.fresh, profile: { a: 1 } } }),
      status: created,
      then: expectCreated,
    },
    {
      name: `REST DELETE /${p}/{c} (delete a customer)`,
      by: 'system',
      rest: (x) => ({ method: 'DELETE', path: `/${p}/${x.who}` }),
      status: 204,
      then: expectDeleted,
    },
    {
      name: `REST POST /${p}/{c}/${keys} (create a key)`,
      by: 'owner',
      rest: (x) => ({ method: 'POST', path: `/${p}/${x.who}/${keys}`, body: { name: 'made' } }),
      status: created,
      then: async (x, answer) => {
        expect(answer.secret).toMatch(/^XI[A-Za-z0-9]{32}$/);
        expect((await t.http('GET', '/customers/self', { key: answer.secret })).status).toBe(200);
        expect((await ok(t.http('GET', `/customers/${x.c.uuid}/apikeys/${answer.keyId}`, { key: t.systemKey }))).name).toBe('made');
      },
    },
    {
      name: `REST PATCH /${p}/{c}/${keys}/{key} (rename)`,
      by: 'owner',
      given: withKey,
      rest: (x) => ({ method: 'PATCH', path: `/${p}/${x.who}/${keys}/${x.key!.keyId}`, body: { name: 'renamed' } }),
      then: expectKey({ name: 'renamed' }),
    },
    {
      name: `REST PATCH /${p}/{c}/${keys}/{key} (suspend)`,
      by: 'owner',
      given: withKey,
      rest: (x) => ({ method: 'PATCH', path: `/${p}/${x.who}/${keys}/${x.key!.keyId}`, body: { active: false } }),
      then: expectKey({ active: false }),
    },
    {
      name: `REST PATCH /${p}/{c}/${keys}/{key} (resume)`,
      by: 'system',
      given: withSuspendedKey,
      rest: (x) => ({ method: 'PATCH', path: `/${p}/${x.who}/${keys}/${x.key!.keyId}`, body: { active: true } }),
      then: expectKey({ active: true }),
    },
    {
      name: `REST DELETE /${p}/{c}/${keys}/{key}`,
      by: 'owner',
      given: withKey,
      rest: (x) => ({ method: 'DELETE', path: `/${p}/${x.who}/${keys}/${x.key!.keyId}` }),
      status: 204,
      then: expectNoKey,
    },
  );
}
writes.push({
  name: 'REST PUT /tenants/{c} profile (the 2019 library\'s update)',
  by: 'owner',
  given: withProfile,
  rest: (x) => ({ method: 'PUT', path: `/tenants/${x.who}`, body: { profile: { added: 2 } } }),
  then: expectProfile({ keep: 'me', added: 2 }),
});

/** GraphQL: `customer` names the customer; the selection is what a client checks after the write. */
const arg = (x: Context) => `customer: "${x.who}"`;
writes.push(
  {
    name: 'GraphQL setCustomerSetting',
    by: 'owner',
    gql: (x) => `mutation { setCustomerSetting(${arg(x)}, name: "${LIMIT}", value: 11) { id modifiedAt settings { concurrencyLimit } } }`,
    then: async (x, answer) => {
      expect(answer.setCustomerSetting.settings.concurrencyLimit).toBe(11);
      await expectLimit(11)(x);
    },
  },
  {
    name: 'GraphQL removeCustomerSetting',
    by: 'owner',
    given: withLimit,
    gql: (x) => `mutation { removeCustomerSetting(${arg(x)}, name: "${LIMIT}") { id modifiedAt settings { concurrencyLimit } } }`,
    then: async (x, answer) => {
      expect(answer.removeCustomerSetting.settings.concurrencyLimit).toBeNull();
      await expectLimit(undefined)(x);
    },
  },
  {
    name: 'GraphQL setConcurrencyLimit',
    by: 'owner',
    given: withLimit,
    gql: (x) => `mutation { setConcurrencyLimit(${arg(x)}, limit: 12) { id modifiedAt settings { concurrencyLimit } } }`,
    then: async (x, answer) => {
      expect(answer.setConcurrencyLimit.settings.concurrencyLimit).toBe(12);
      await expectLimit(12)(x);
    },
  },
  {
    name: 'GraphQL setConcurrencyLimit (system key)',
    by: 'system',
    gql: (x) => `mutation { setConcurrencyLimit(${arg(x)}, limit: 13) { id modifiedAt settings { concurrencyLimit } } }`,
    then: expectLimit(13),
  },
  {
    name: 'GraphQL removeConcurrencyLimit',
    by: 'owner',
    given: withLimit,
    gql: (x) => `mutation { removeConcurrencyLimit(${arg(x)}) { id modifiedAt settings { concurrencyLimit } } }`,
    then: expectLimit(undefined),
  },
  {
    name: 'GraphQL mergeCustomerProfile',
    by: 'owner',
    given: withProfile,
    gql: (x) => `mutation { mergeCustomerProfile(${arg(x)}, patch: {added: 3}) { id modifiedAt profile } }`,
    then: async (x, answer) => {
      expect(answer.mergeCustomerProfile.profile).toEqual({ keep: 'me', added: 3 });
      await expectProfile({ keep: 'me', added: 3 })(x);
    },
  },
  {
    name: 'GraphQL updateCustomerProfile (replaces)',
    by: 'owner',
    given: withProfile,
    gql: (x) => `mutation { updateCustomerProfile(${arg(x)}, profile: {only: 4}) { id modifiedAt profile } }`,
    then: async (x, answer) => {
      expect(answer.updateCustomerProfile.profile).toEqual({ only: 4 });
      await expectProfile({ only: 4 })(x);
    },
  },
  {
    name: 'GraphQL updateCustomer active (operator)',
    by: 'system',
    gql: (x) => `mutation { updateCustomer(${arg(x)}, input: {active: false}) { id modifiedAt active } }`,
    then: async (x, answer) => {
      expect(answer.updateCustomer.active).toBe(false);
      expect((await customerOf(x)).active).toBe(false);
    },
  },
  {
    name: 'GraphQL updateCustomer billingPlan (operator)',
    by: 'system',
    gql: (x) => `mutation { updateCustomer(${arg(x)}, input: {billingPlan: {concurrency: 14}}) { id modifiedAt billingPlan } }`,
    then: async (x, answer) => {
      expect(answer.updateCustomer.billingPlan).toEqual({ concurrency: 14 });
      expect((await customerOf(x)).billingPlan).toEqual({ concurrency: 14 });
    },
  },
  {
    name: 'GraphQL updateCustomer profile (operator, merged)',
    by: 'system',
    given: withProfile,
    gql: (x) => `mutation { updateCustomer(${arg(x)}, input: {profile: {added: 5}}) { id modifiedAt profile } }`,
    then: expectProfile({ keep: 'me', added: 5 }),
  },
  {
    name: 'GraphQL createCustomer',
    by: 'system',
    gql: (x) => `mutation { createCustomer(input: {name: "${x.fresh}", profile: {a: 1}}) { id uuid name } }`,
    then: async (x, answer) => {
      expect(answer.createCustomer.name).toBe(x.fresh);
      await expectCreated(x);
    },
  },
  {
    name: 'GraphQL deleteCustomer',
    by: 'system',
    gql: (x) => `mutation { deleteCustomer(${arg(x)}) { id deletedAt } }`,
    then: async (x, answer) => {
      expect(answer.deleteCustomer.deletedAt).not.toBeNull();
      await expectDeleted(x);
    },
  },
  {
    name: 'GraphQL createApiKey',
    by: 'owner',
    gql: (x) => `mutation { createApiKey(${arg(x)}, name: "made") { secret apiKey { keyId name } } }`,
    then: async (_x, answer) => {
      expect((await t.http('GET', '/customers/self', { key: answer.createApiKey.secret })).status).toBe(200);
    },
  },
  {
    name: 'GraphQL updateApiKey (rename)',
    by: 'owner',
    given: withKey,
    gql: (x) => `mutation { updateApiKey(${arg(x)}, key: "${x.key!.keyId}", input: {name: "renamed"}) { keyId name active } }`,
    then: expectKey({ name: 'renamed' }),
  },
  {
    name: 'GraphQL updateApiKey (suspend)',
    by: 'system',
    given: withKey,
    gql: (x) => `mutation { updateApiKey(${arg(x)}, key: "${x.key!.keyId}", input: {active: false}) { keyId name active } }`,
    then: expectKey({ active: false }),
  },
  {
    name: 'GraphQL updateApiKey (resume)',
    by: 'owner',
    given: withSuspendedKey,
    gql: (x) => `mutation { updateApiKey(${arg(x)}, key: "${x.key!.keyId}", input: {active: true}) { keyId name active } }`,
    then: expectKey({ active: true }),
  },
  {
    name: 'GraphQL revokeApiKey',
    by: 'owner',
    given: withKey,
    gql: (x) => `mutation { revokeApiKey(${arg(x)}, keyId: "${x.key!.keyId}") { keyId } }`,
    then: expectNoKey,
  },
);

/** Statements each write cost, printed at the end (the figure the rewrite is measured by). */
const observed: [string, number][] = [];

describe('statements per write', () => {
  afterAll(() => {
    if (observed.length > 0) console.info(`statements per write:\n${observed.map(([name, n]) => `  ${n}  ${name}`).join('\n')}`);
  });

  it.each(writes.map((w) => [w.name, w] as const))('%s: at most 2 statements, BEGIN and COMMIT included', async (_name, w) => {
    const c = await t.customer();
    const writer = w.by === 'owner' ? c.key : t.systemKey;
    let x: Context = { c, writer, who: w.by === 'owner' ? 'self' : c.uuid, fresh: `made-${c.id}` };
    x = { ...x, ...((await w.given?.(x)) ?? {}) };
    await settle();
    // A write to a customer that does not exist yet warms up the key only.
    await warmUp(writer, w.rest?.(x).path.match(/^\/(customers|tenants)$/) || w.gql?.(x).includes('createCustomer') ? undefined : c);
    await settle();

    sent.length = 0;
    let status: number;
    let answer: any;
    if (w.rest) {
      const { method, path, body } = w.rest(x);
      const res = await t.http(method, path, { key: writer, body });
      status = res.status;
      const text = await res.text();
      answer = text ? JSON.parse(text) : undefined;
    } else {
      const res = await t.gql(writer, w.gql!(x));
      status = res.status;
      expect(res.errors).toBeUndefined();
      answer = res.data;
    }
    const statements = sent.filter((s) => !activityFlush.test(s));
    observed.push([w.name, statements.length]);

    expect(status, JSON.stringify(answer)).toBe(w.status ?? 200);
    await w.then(x, answer);
    expect(statements.length, `statements sent:\n${statements.map((s) => `  ${s.replace(/\s+/g, ' ').trim()}`).join('\n')}`).toBeLessThanOrEqual(2);
  });

  it('a setting write is one statement when the customer need not be read first: the owner saying self, a system key naming it', async () => {
    const c = await t.customer();
    for (const [key, who, via] of [
      [c.key, 'self', 'PUT /customers/self/concurrency-limit'],
      [t.systemKey, c.uuid, 'PUT /customers/{uuid}/concurrency-limit'],
      [t.systemKey, String(c.id), 'PUT /tenants/{id}/concurrency-limit'],
      [t.systemKey, c.name, 'DELETE /customers/{name}/concurrency-limit'],
    ] as const) {
      await warmUp(key, c);
      await settle();
      sent.length = 0;
      const [method, path] = via.split(' ') as [string, string];
      const res = await t.http(method, path.replace(/\{[a-z]+\}|self/, encodeURIComponent(who)), method === 'PUT' ? { key, body: { limit: 9 } } : { key });
      expect(res.status, via).toBe(method === 'PUT' ? 200 : 204);
      const statements = sent.filter((s) => !activityFlush.test(s));
      expect(statements, via).toHaveLength(1);
      expect(statements[0]).toMatch(/gateway_write_(set|remove)_setting/);
    }
    await expectLimit(undefined)({ c, writer: t.systemKey, who: c.uuid, fresh: '' });
  });
});

describe('writes to different customers are independent', () => {
  if (!onPostgres) console.warn('write-path.test.ts: the independence test is skipped: the embedded database has one connection, so a held row lock would stop every statement (set TEST_DATABASE_URL)');

  it.skipIf(!onPostgres)(
    "a customer's row lock held elsewhere stops only that customer's writes (PostgreSQL only: the embedded database has one connection)",
    async () => {
      const a = await t.customer();
      const b = await t.customer();
      await warmUp(a.key, a);
      await warmUp(b.key, b);
      const holder = new pg.Client({ connectionString: (t.database as { url?: string }).url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT id FROM customers WHERE id = $1 FOR UPDATE', [a.id]);

        const timed = async (key: string, limit: number) => {
          const start = Date.now();
          const res = await t.http('PUT', '/customers/self/concurrency-limit', { key, body: { limit } });
          return { status: res.status, body: await res.text(), ms: Date.now() - start, at: Date.now() };
        };
        const first = await timed(b.key, 1);
        expect(first.status, first.body).toBe(200);
        expect(first.ms).toBeLessThan(1000);

        let answered = false;
        const blocked = timed(a.key, 2).finally(() => (answered = true));
        await sleep(300);
        expect(answered, "the write to A answered while A's row was locked by another transaction").toBe(false);

        // While A's write waits, B's are not held up behind it.
        const second = await timed(b.key, 3);
        expect(second.status, second.body).toBe(200);
        expect(second.ms).toBeLessThan(1000);
        expect(answered).toBe(false);

        const released = Date.now();
        await holder.query('COMMIT');
        const late = await blocked;
        expect(late.status, late.body).toBe(200);
        expect(late.at - released).toBeLessThan(1000);
        expect((await ok(t.http('GET', '/customers/self/concurrency-limit', { key: a.key }))).limit).toBe(2);
        expect((await ok(t.http('GET', '/customers/self/concurrency-limit', { key: b.key }))).limit).toBe(3);
      } finally {
        await holder.query('ROLLBACK').catch(() => {});
        await holder.end();
      }
    },
  );
});

describe('a failed write leaves nothing; a write that changes nothing leaves no event', () => {
  /** The newest event id, read as a client would: GET /events with a system key, paged to the end. */
  async function newestEvent(): Promise<number> {
    let after = 0;
    for (;;) {
      const page = (await ok(t.http('GET', `/events?after=${after}&limit=500`, { key: t.systemKey }))) as { id: number }[];
      if (page.length > 0) after = page.at(-1)!.id;
      if (page.length < 500) return after;
    }
  }

  /** Everything a write could have changed about a customer, and the number of customers. */
  async function state(c: Customer) {
    const one = async (sql: string) => (await t.database.pool.query(sql, [c.id])).rows;
    return {
      customer: await one('SELECT name, active, profile, billing_plan, created_at, modified_at, deleted_at FROM customers WHERE id = $1'),
      settings: await one('SELECT name, value, created_at, modified_at FROM settings WHERE customer_id = $1 ORDER BY name'),
      keys: await one('SELECT key_id, name, active, modified_at, deleted_at FROM api_keys WHERE customer_id = $1 ORDER BY id'),
      customers: (await t.database.pool.query('SELECT count(*)::int AS n FROM customers')).rows[0].n,
    };
  }

  interface Refused {
    name: string;
    /** The customer's state before the write; `deleted` deletes it first. */
    given?: 'limit' | 'nothing' | 'deleted';
    rest?: (c: Customer) => { method: string; path: string; key: string; body?: unknown };
    gql?: (c: Customer) => { key: string; query: string };
    status: number;
    code: string;
  }

  const refused: Refused[] = [
    {
      name: 'a concurrency limit of -1',
      rest: (c) => ({ method: 'PUT', path: '/customers/self/concurrency-limit', key: c.key, body: { limit: -1 } }),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'a concurrency limit of "x"',
      rest: (c) => ({ method: 'PUT', path: '/customers/self/concurrency-limit', key: c.key, body: { limit: 'x' } }),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'a setting value over the maximum (tenants dialect)',
      rest: (c) => ({ method: 'PUT', path: `/tenants/self/settings/${LIMIT}`, key: c.key, body: { value: '1000001' } }),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'GraphQL setConcurrencyLimit -1',
      gql: (c) => ({ key: c.key, query: 'mutation { setConcurrencyLimit(limit: -1) { id } }' }),
      status: 400,
      code: 'BAD_REQUEST',
    },
    {
      name: 'a customer created with a name that exists',
      rest: (c) => ({ method: 'POST', path: '/customers', key: t.systemKey, body: { name: c.name } }),
      status: 409,
      code: 'CONFLICT',
    },
    {
      name: 'a tenant created with a name that exists',
      rest: (c) => ({ method: 'POST', path: '/tenants', key: t.systemKey, body: { name: c.name } }),
      status: 409,
      code: 'CONFLICT',
    },
    {
      name: 'GraphQL createCustomer with a name that exists',
      gql: (c) => ({ key: t.systemKey, query: `mutation { createCustomer(input: {name: "${c.name}"}) { id } }` }),
      status: 409,
      code: 'CONFLICT',
    },
    {
      name: 'a concurrency limit set on a deleted customer',
      given: 'deleted',
      rest: (c) => ({ method: 'PUT', path: `/customers/${c.uuid}/concurrency-limit`, key: t.systemKey, body: { limit: 4 } }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: "a deleted customer's profile patched",
      given: 'deleted',
      rest: (c) => ({ method: 'PATCH', path: `/customers/${c.uuid}`, key: t.systemKey, body: { profile: { x: 1 } } }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'a key created for a deleted customer (GraphQL)',
      given: 'deleted',
      gql: (c) => ({ key: t.systemKey, query: `mutation { createApiKey(customer: "${c.uuid}", name: "late") { secret } }` }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'a setting removed that is not set',
      given: 'nothing',
      rest: (c) => ({ method: 'DELETE', path: `/customers/self/settings/${LIMIT}`, key: c.key }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'a concurrency limit removed that is not set (tenants dialect)',
      given: 'nothing',
      rest: (c) => ({ method: 'DELETE', path: '/tenants/self/concurrency-limit', key: c.key }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'GraphQL removeCustomerSetting of a setting that is not set',
      given: 'nothing',
      gql: (c) => ({ key: c.key, query: `mutation { removeCustomerSetting(name: "${LIMIT}") { id } }` }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'a key deleted that does not exist',
      rest: (c) => ({ method: 'DELETE', path: '/customers/self/apikeys/key_doesnotexist00', key: c.key }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'a key renamed that does not exist',
      rest: (c) => ({ method: 'PATCH', path: '/customers/self/apikeys/key_doesnotexist00', key: c.key, body: { name: 'x' } }),
      status: 404,
      code: 'NOT_FOUND',
    },
    {
      name: 'GraphQL revokeApiKey of a key that does not exist',
      gql: (c) => ({ key: c.key, query: 'mutation { revokeApiKey(keyId: "key_doesnotexist00") { id } }' }),
      status: 404,
      code: 'NOT_FOUND',
    },
  ];

  it.each(refused.map((r) => [r.name, r] as const))('refused: %s leaves no event and no change', async (_name, r) => {
    const c = await t.customer();
    await ok(t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { keep: 'me' } } }));
    if (r.given !== 'nothing') await ok(t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 5 } }));
    if (r.given === 'deleted') await ok(t.http('DELETE', `/customers/${c.uuid}`, { key: t.systemKey }), 204);
    const before = await state(c);
    const newest = await newestEvent();

    if (r.rest) {
      const { method, path, key, body } = r.rest(c);
      const res = await t.http(method, path, { key, body });
      const answer = await json(res);
      expect(res.status, JSON.stringify(answer)).toBe(r.status);
      expect(answer.code).toBe(r.code);
    } else {
      const { key, query } = r.gql!(c);
      const res = await t.gql(key, query);
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe(r.code);
    }

    expect(await newestEvent()).toBe(newest);
    expect(await state(c)).toEqual(before);
  });

  const unchanged: { name: string; rest?: { method: string; path: string; body: unknown }; gql?: string }[] = [
    { name: 'PATCH with the profile value it already has', rest: { method: 'PATCH', path: '/customers/self', body: { profile: { keep: 'me' } } } },
    { name: 'PATCH with {}', rest: { method: 'PATCH', path: '/customers/self', body: {} } },
    { name: 'PATCH with an empty profile patch', rest: { method: 'PATCH', path: '/customers/self', body: { profile: {} } } },
    { name: 'PUT /tenants/{c} with the profile value it already has', rest: { method: 'PUT', path: '/tenants/self', body: { profile: { keep: 'me' } } } },
    { name: 'GraphQL mergeCustomerProfile with the value it already has', gql: 'mutation { mergeCustomerProfile(patch: {keep: "me"}) { profile } }' },
    { name: 'GraphQL updateCustomerProfile with the profile it already has', gql: 'mutation { updateCustomerProfile(profile: {keep: "me"}) { profile } }' },
  ];

  it.each(unchanged.map((u) => [u.name, u] as const))('changes nothing: %s answers 200 and leaves no event', async (_name, u) => {
    const c = await t.customer();
    await ok(t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { keep: 'me' } } }));
    const newest = await newestEvent();
    if (u.rest) {
      const answer = await ok(t.http(u.rest.method, u.rest.path, { key: c.key, body: u.rest.body }));
      expect(answer.profile).toEqual({ keep: 'me' });
    } else {
      const res = await t.gql(c.key, u.gql!);
      expect(res.errors).toBeUndefined();
      expect(Object.values(res.data)[0]).toEqual({ profile: { keep: 'me' } });
    }
    expect(await newestEvent()).toBe(newest);
    expect((await ok(t.http('GET', '/customers/self', { key: c.key }))).profile).toEqual({ keep: 'me' });
  });

  it('changes nothing: a key renamed to its own name, or resumed while active, answers 200 and leaves no event', async () => {
    const c = await t.customer();
    const key = await ok(t.http('GET', `/customers/self/apikeys/${c.keyId}`, { key: c.key }));
    const newest = await newestEvent();
    for (const body of [{ name: key.name }, { active: true }, { name: key.name, active: true }]) {
      const answer = await ok(t.http('PATCH', `/customers/self/apikeys/${c.keyId}`, { key: c.key, body }));
      expect(answer).toMatchObject({ keyId: c.keyId, name: key.name, active: true });
    }
    expect(await newestEvent()).toBe(newest);
  });
});
