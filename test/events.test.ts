import { execFileSync } from 'node:child_process';
import { createServer, request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { hashSecret } from '../src/kernel/secrets.js';
import { createServices, type Services } from '../src/boot/services.js';
import { pruneEvents } from '../src/domain/events/retention.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';
import { cliBundle } from './processes.js';
import { routeTable } from './samples.js';
import { sseReader } from './sse.js';

/** Contract 4c: every change is an event, kept and streamed. */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

interface EventJson {
  id: number;
  customer: string;
  type: string;
  subject: string | null;
  actor: { keyId: string | null; kind: string };
  requestId: string | null;
  changes: Record<string, { from: unknown; to: unknown }>;
}

async function eventsOf(customer: string, key = t.systemKey, after = 0): Promise<EventJson[]> {
  const res = await t.http('GET', `/customers/${customer}/events?after=${after}&limit=500`, { key });
  expect(res.status).toBe(200);
  return (await res.json()) as EventJson[];
}

const newest = async () => Number((await t.database.pool.query('SELECT COALESCE(max(id), 0)::text AS id FROM events')).rows[0].id);
const eventsSince = async (id: number) =>
  (await t.database.pool.query('SELECT type, subject, actor_kind, actor_key_id, request_id, changes FROM events WHERE id > $1 ORDER BY id', [id])).rows;

describe('every write leaves its event, in the transaction of the change', () => {
  /** Each writing operation of each door, and the event type it must leave. */
  it('through every REST route that writes, in both dialects', async () => {
    // A stream ticket changes nothing of a customer: it records no event.
    const writes = routeTable().filter((r) => r.method !== 'GET' && r.auth === 'key' && !r.path.endsWith('/events/tickets'));
    const expected: Record<string, string> = {
      'POST /{p}': 'customer.created',
      'PATCH /{p}/{customer}': 'customer.updated',
      // The tenants dialect's PUT on a tenant: the same update as PATCH.
      'PUT /{p}/{customer}': 'customer.updated',
      'DELETE /{p}/{customer}': 'customer.deleted',
      'POST /{p}/{customer}/settings': 'setting.set',
      'PUT /{p}/{customer}/settings/{name}': 'setting.set',
      'DELETE /{p}/{customer}/settings/{name}': 'setting.removed',
      'PUT /{p}/{customer}/concurrency-limit': 'setting.set',
      'DELETE /{p}/{customer}/concurrency-limit': 'setting.removed',
      'POST /{p}/{customer}/{keys}': 'apikey.created',
      'PATCH /{p}/{customer}/{keys}/{key}': 'apikey.updated',
      'DELETE /{p}/{customer}/{keys}/{key}': 'apikey.deleted',
    };
    // A route added later fails here until it is given its event.
    const shape = (path: string) => path.replace(/^\/(customers|tenants)/, '/{p}').replace(/\/(apikeys|keys)/, '/{keys}');
    for (const route of writes) expect(expected[`${route.method} ${shape(route.path)}`], `${route.method} ${route.path}`).toBeDefined();

    for (const route of writes) {
      const c = await t.customer();
      await t.http('PUT', `/customers/${c.uuid}/concurrency-limit`, { key: t.systemKey, body: { limit: 3 } });
      const spare = (await (await t.http('POST', `/customers/${c.uuid}/apikeys`, { key: t.systemKey, body: { name: 'spare' } })).json()) as { keyId: string };
      const path = route.path
        .replace('{customer}', c.uuid)
        .replace('{name}', 'concurrency-limit')
        .replace('{key}', spare.keyId);
      const body =
        route.method === 'POST' && !path.includes('/settings') && !/keys$/.test(path)
          ? { name: `created-${c.id}-${route.path.length}` }
          : route.path.endsWith('/settings')
            ? { name: 'concurrency-limit', value: 9 }
            : route.path.endsWith('/concurrency-limit') && route.method === 'PUT'
              ? { limit: 8 }
              : route.path.endsWith('{name}') && route.method === 'PUT'
                ? { value: 7 }
                : route.method === 'PATCH' && route.path.endsWith('{key}')
                  ? { active: false }
                  : route.method === 'PATCH' || (route.method === 'PUT' && route.path.endsWith('{customer}'))
                    ? { profile: { touched: `${route.method} ${route.path}` } }
                    : /keys$/.test(path)
                      ? { name: 'new' }
                      : undefined;
      const since = await newest();
      const res = await t.http(route.method, path, { key: t.systemKey, body, headers: { 'x-request-id': `req-${route.operationId}` } });
      expect(res.status, `${route.method} ${route.path}: ${await res.clone().text()}`).toBeLessThan(300);
      const rows = await eventsSince(since);
      const type = expected[`${route.method} ${shape(route.path)}`];
      expect(rows.map((r) => r.type), `${route.method} ${route.path}`).toEqual([type]);
      expect(rows[0]).toMatchObject({ actor_kind: 'system', request_id: `req-${route.operationId}` });
    }
  });

  it('through every GraphQL mutation that writes, with the actor and the changes', async () => {
    const c = await t.customer('gql-events');
    const cases: [string, string, string][] = [
      ['createCustomer', 'mutation { createCustomer(input: {name: "gql-made"}) { id } }', 'customer.created'],
      ['updateCustomer', `mutation { updateCustomer(customer: "${c.uuid}", input: {billingPlan: {concurrency: 4}}) { id } }`, 'customer.updated'],
      ['updateCustomerProfile', `mutation { updateCustomerProfile(customer: "${c.uuid}", profile: {a: 1}) { id } }`, 'customer.updated'],
      ['mergeCustomerProfile', `mutation { mergeCustomerProfile(customer: "${c.uuid}", patch: {b: 2}) { id } }`, 'customer.updated'],
      ['setCustomerSetting', `mutation { setCustomerSetting(customer: "${c.uuid}", name: "concurrency-limit", value: 5) { id } }`, 'setting.set'],
      ['setConcurrencyLimit', `mutation { setConcurrencyLimit(customer: "${c.uuid}", limit: 6) { id } }`, 'setting.set'],
      ['removeConcurrencyLimit', `mutation { removeConcurrencyLimit(customer: "${c.uuid}") { id } }`, 'setting.removed'],
      ['createApiKey', `mutation { createApiKey(customer: "${c.uuid}", name: "k") { secret } }`, 'apikey.created'],
      ['updateApiKey', `mutation { updateApiKey(customer: "${c.uuid}", key: "k", input: {name: "k2"}) { id } }`, 'apikey.updated'],
      ['revokeApiKey', `mutation { revokeApiKey(customer: "${c.uuid}", keyId: "k2") { id } }`, 'apikey.deleted'],
      ['setCustomerSetting again, then removeCustomerSetting', `mutation { setCustomerSetting(customer: "${c.uuid}", name: "concurrency-limit", value: 1) { id } }`, 'setting.set'],
      ['removeCustomerSetting', `mutation { removeCustomerSetting(customer: "${c.uuid}", name: "concurrency-limit") { id } }`, 'setting.removed'],
      ['deleteCustomer', `mutation { deleteCustomer(customer: "${c.uuid}") { id } }`, 'customer.deleted'],
    ];
    const mutations = Object.keys(((await t.gql(t.systemKey, '{ __type(name: "Mutation") { fields { name } } }')).data.__type.fields as { name: string }[]).reduce((a, f) => ({ ...a, [f.name]: 1 }), {}));
    for (const name of mutations) expect(cases.some(([label]) => label === name), name).toBe(true);
    for (const [label, query, type] of cases) {
      const since = await newest();
      const res = await t.gql(t.systemKey, query);
      expect(res.errors, label).toBeUndefined();
      const rows = await eventsSince(since);
      expect(rows.map((r) => r.type), label).toEqual([type]);
    }
    const all = await t.database.pool.query('SELECT type, subject, changes FROM events WHERE customer_id = $1 ORDER BY id', [c.id]);
    const byType = (type: string) => all.rows.filter((r) => r.type === type);
    expect(byType('customer.updated')[0].changes).toEqual({ billingPlan: { from: null, to: { concurrency: 4 } } });
    expect(byType('setting.set')[1]).toMatchObject({ subject: 'concurrency-limit', changes: { 'concurrency-limit': { from: 5, to: 6 } } });
    expect(byType('apikey.updated')[0].changes).toEqual({ name: { from: 'k', to: 'k2' } });
  });

  it('through the operator CLI, named as the actor `cli`', async () => {
    const c = await t.customer('cli-events');
    if (!onPostgres) return; // The CLI opens the database itself: the embedded one here lives in this process's memory.
    const env = { ...process.env, DATABASE_URL: (t.database as { url?: string }).url, LOG_LEVEL: 'silent' };
    const since = await newest();
    execFileSync(process.execPath, [cliBundle(), 'key:create', 'cli-events', '--name', 'from-cli'], { env, stdio: 'pipe' });
    const rows = await eventsSince(since);
    expect(rows).toMatchObject([{ type: 'apikey.created', actor_kind: 'cli', actor_key_id: null }]);
    expect(c.id).toBeGreaterThan(0);
  }, 60_000);

  it('never holds a secret or its hash', async () => {
    const c = await t.customer();
    const created = await t.gql(c.key, 'mutation { createApiKey(name: "secretive") { secret } }');
    const secret: string = created.data.createApiKey.secret;
    const dump = JSON.stringify((await t.database.pool.query('SELECT * FROM events')).rows);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(hashSecret(secret));
    expect(dump).not.toContain(hashSecret(c.key));
  });
});

describe('no change, no event', () => {
  it('a refused write (validation, authorization) or a rolled-back one leaves none', async () => {
    const c = await t.customer();
    const d = await t.customer();
    const since = await newest();
    const refused = [
      await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: -1 } }),
      await t.http('PATCH', `/customers/${d.uuid}`, { key: c.key, body: { profile: { x: 1 } } }),
      await t.http('PATCH', '/customers/self', { key: c.key, body: { active: false } }),
      // Rolled back after the customer's row was locked and touched: nothing to remove.
      await t.http('DELETE', '/customers/self/settings/concurrency-limit', { key: c.key }),
      // Rolled back by the database: the name is taken.
      await t.http('POST', '/customers', { key: t.systemKey, body: { name: c.name } }),
      await t.http('DELETE', '/customers/self/apikeys/key_nope', { key: c.key }),
    ];
    expect(refused.map((r) => r.status)).toEqual([400, 403, 403, 404, 409, 404]);
    expect(await eventsSince(since)).toEqual([]);
  });
});

describe('reading events', () => {
  it('pages oldest first with after and limit, with the same authorization as the customer', async () => {
    const c = await t.customer();
    for (let i = 1; i <= 5; i++) await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: i } });
    const all = await eventsOf('self', c.key);
    expect(all.map((e) => e.changes['concurrency-limit']!.to)).toEqual([1, 2, 3, 4, 5]);
    expect(all.every((e, i) => i === 0 || e.id > all[i - 1]!.id)).toBe(true);
    expect(all[0]).toMatchObject({ customer: c.uuid, type: 'setting.set', actor: { keyId: c.keyId, kind: 'customer' } });
    const page = await t.http('GET', `/tenants/self/events?after=${all[1]!.id}&limit=2`, { key: c.key });
    expect(((await page.json()) as EventJson[]).map((e) => e.id)).toEqual([all[2]!.id, all[3]!.id]);
    expect(page.headers.get('link')).toBe(`</tenants/self/events?after=${all[3]!.id}&limit=2>; rel="next"`);
    const other = await t.customer();
    expect((await t.http('GET', `/customers/${other.uuid}/events`, { key: c.key })).status).toBe(403);
    expect((await t.http('GET', '/events', { key: c.key })).status).toBe(403);
    const everyone = (await (await t.http('GET', `/events?after=${all[0]!.id - 1}&limit=500`, { key: t.systemKey })).json()) as EventJson[];
    expect(everyone.slice(0, 5).map((e) => e.id)).toEqual(all.map((e) => e.id));
    const gql = await t.gql(c.key, '{ me { events(first: 2) { edges { node { id type changes } } pageInfo { hasNextPage endCursor } } } }');
    expect(gql.data.me.events.edges.map((e: { node: { id: string } }) => Number(e.node.id))).toEqual([all[0]!.id, all[1]!.id]);
    // The EventType enum: REST's type with `_` for `.`.
    expect(gql.data.me.events.edges.map((e: { node: { type: string } }) => e.node.type)).toEqual(
      [all[0]!.type, all[1]!.type].map((type) => type.replace('.', '_')),
    );
    expect(gql.data.me.events.pageInfo.hasNextPage).toBe(true);
  });
});

describe('live streams (Server-Sent Events)', () => {
  const open = (path: string, key: string, headers: Record<string, string> = {}) =>
    t.http('GET', path, { key, headers: { accept: 'text/event-stream', ...headers } });

  it('delivers the events after the resume point, then each new one; a reconnect with Last-Event-ID misses nothing and repeats nothing', async () => {
    const c = await t.customer();
    const other = await t.customer();
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 1 } });
    const res = await open('/customers/self/events', c.key);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const stream = sseReader(res.body!);
    const [first] = await stream.next(1);
    expect(first).toMatchObject({ event: 'setting.set' });
    expect(JSON.parse(first!.data!).changes).toEqual({ 'concurrency-limit': { from: null, to: 1 } });

    await t.http('PUT', '/customers/self/concurrency-limit', { key: other.key, body: { limit: 99 } });
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 2 } });
    const [second] = await stream.next(1);
    expect(JSON.parse(second!.data!).changes['concurrency-limit'].to).toBe(2);
    await stream.cancel();

    // Missed while away: three changes; the reconnect gets exactly those, in order.
    for (const limit of [3, 4, 5]) await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit } });
    const again = sseReader((await open('/customers/self/events', c.key, { 'last-event-id': second!.id! })).body!);
    const missed = await again.next(3);
    expect(missed.map((e) => JSON.parse(e.data!).changes['concurrency-limit'].to)).toEqual([3, 4, 5]);
    expect((await again.next(1, 300)).length).toBe(0);
    // Never another customer's.
    expect(missed.every((e) => JSON.parse(e.data!).customer === c.uuid)).toBe(true);
    await again.cancel();
  });

  it('refuses more than MAX_STREAMS_PER_KEY streams for one key with 429', async () => {
    const c = await t.customer();
    const open20 = await Promise.all(Array.from({ length: 20 }, () => open('/customers/self/events', c.key)));
    expect(open20.map((r) => r.status)).toEqual(Array(20).fill(200));
    const refused = await open('/customers/self/events', c.key);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { code: string }).code).toBe('RATE_LIMITED');
    await open20[0]!.body!.cancel();
    await new Promise((r) => setTimeout(r, 20));
    const next = await open('/customers/self/events', c.key);
    expect(next.status).toBe(200);
    for (const r of [...open20.slice(1), next]) await r.body!.cancel();
  });

  it('disconnects a client that stops reading once its buffer is full, over a real connection, without failing the process', async () => {
    const c = await t.customer();
    const server = createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const before = t.services.events.hub.streams;
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const port = (server.address() as { port: number }).port;
        const headers = { authorization: `Bearer ${c.key}`, accept: 'text/event-stream' };
        request({ host: '127.0.0.1', port, path: '/customers/self/events', headers }, resolve).on('error', reject).end();
      });
      expect(res.statusCode).toBe(200);
      expect(t.services.events.hub.streams).toBe(before + 1);
      // The client reads nothing while 500 changes of 12 KiB profiles (6 MB of events: more than the
      // socket's buffers and the stream's 1 MiB) are made.
      res.pause();
      let closed = false;
      res.on('close', () => (closed = true));
      res.on('error', () => {});
      for (let i = 0; i < 500 && t.services.events.hub.streams > before; i++) {
        await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { blob: `${i}`.padEnd(12_000, 'x') } } });
      }
      for (let i = 0; i < 100 && t.services.events.hub.streams > before; i++) await new Promise((r) => setTimeout(r, 20));
      // Let go of: its slot is free, and its connection is ended (what was queued for it dropped).
      expect(t.services.events.hub.streams).toBe(before);
      res.resume();
      for (let i = 0; i < 200 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
      expect(closed).toBe(true);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      server.close();
    }
  }, 120_000);

  it('streams everyone\'s events to the operator at /events, and refuses it to a customer key', async () => {
    const stream = sseReader((await open('/events', t.systemKey, { 'last-event-id': String(await newest()) })).body!);
    const a = await t.customer();
    const b = await t.customer();
    await t.http('PUT', '/customers/self/concurrency-limit', { key: a.key, body: { limit: 1 } });
    await t.http('PUT', '/customers/self/concurrency-limit', { key: b.key, body: { limit: 2 } });
    const got = await stream.next(2);
    expect(got.map((e) => JSON.parse(e.data!).customer)).toEqual([a.uuid, b.uuid]);
    await stream.cancel();
    expect((await open('/events', a.key)).status).toBe(403);
  });

  it('ends a stream when its key is deleted', async () => {
    const c = await t.customer();
    const second = (await (await t.http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'watcher' } })).json()) as { secret: string };
    const stream = sseReader((await open('/customers/self/events', second.secret)).body!);
    await t.http('DELETE', '/customers/self/apikeys/watcher', { key: c.key });
    await stream.next(5, 2000);
    expect(stream.ended).toBe(true);
  });

  it('GraphQL customerEvents over SSE, resumed with after', async () => {
    const c = await t.customer();
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 1 } });
    const first = (await eventsOf('self', c.key))[0]!;
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 2 } });
    const res = await t.http('POST', '/graphql', {
      key: c.key,
      headers: { accept: 'text/event-stream' },
      body: { query: `subscription { customerEvents(after: "${first.id}") { id type changes } }` },
    });
    expect(res.status).toBe(200);
    const stream = sseReader(res.body!);
    const [next] = await stream.next(1);
    expect(JSON.parse(next!.data!).data.customerEvents.changes).toEqual({ 'concurrency-limit': { from: 1, to: 2 } });
    await stream.cancel();
  });

  it('GraphQL subscriptions keep the customer\'s authorization: another customer, existing or not, is FORBIDDEN; no key is 401; self with a system key is 400', async () => {
    const c = await t.customer();
    const other = await t.customer();
    const subscribe = async (key: string | undefined, customer: string) => {
      const res = await t.http('POST', '/graphql', {
        key,
        headers: { accept: 'text/event-stream' },
        body: { query: `subscription { customerEvents(customer: "${customer}") { id } }` },
      });
      // The refusal comes as the stream's one event (or, before the stream starts, as its body).
      const text = res.status === 200 ? ((await sseReader(res.body!).next(1))[0]?.data ?? '') : await res.text();
      return { status: res.status, code: /"code":"([A-Z_]+)"/.exec(text)?.[1] };
    };
    expect(await subscribe(c.key, other.uuid)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await subscribe(c.key, '7d1e5bbc-5a0b-4c1f-9d53-2b1ad1c2e0f1')).toMatchObject({ code: 'FORBIDDEN' });
    expect(await subscribe(undefined, 'self')).toMatchObject({ status: 401 });
    expect(await subscribe(t.systemKey, 'self')).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('GraphQL customerChanged answers the customer after each change', async () => {
    const c = await t.customer();
    const res = await t.http('POST', '/graphql', {
      key: c.key,
      headers: { accept: 'text/event-stream' },
      body: { query: 'subscription { customerChanged { name settings { concurrencyLimit } } }' },
    });
    const stream = sseReader(res.body!);
    await new Promise((r) => setTimeout(r, 50));
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 42 } });
    const [next] = await stream.next(1);
    expect(JSON.parse(next!.data!).data.customerChanged).toEqual({ name: c.name, settings: { concurrencyLimit: 42 } });
    await stream.cancel();
  });
});

describe('retention', () => {
  it('prunes events older than EVENT_RETENTION_DAYS, and a resume point before the horizon is 410', async () => {
    const c = await t.customer();
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 1 } });
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 2 } });
    const [old, kept] = await eventsOf('self', c.key);
    await t.database.pool.query(`UPDATE events SET at = now() - interval '100 days' WHERE id <= $1`, [old!.id]);
    expect(await pruneEvents(t.database.sql, 90)).toBeGreaterThanOrEqual(1);
    expect((await eventsOf('self', c.key)).map((e) => e.id)).toEqual([kept!.id]);
    const gone = await t.http('GET', `/customers/self/events?after=${old!.id - 1}`, { key: c.key });
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { message: string }).message).toMatch(/no longer kept.*EVENT_RETENTION_DAYS/);
    const stream = await t.http('GET', '/customers/self/events', { key: c.key, headers: { accept: 'text/event-stream', 'last-event-id': String(old!.id - 1) } });
    expect(stream.status).toBe(410);
    expect((await t.http('GET', `/customers/self/events?after=${old!.id}`, { key: c.key })).status).toBe(200);
  });
});

describe('every process in step', () => {
  let other: Services;
  let otherHttp: TestApp['http'];
  beforeAll(async () => {
    other = createServices(t.database, { authCacheTtlMs: 1000, activityFlushMs: 60_000 });
    otherHttp = httpClient(createApp(other, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }));
  });
  afterAll(() => other.activity.stop());

  it.runIf(onPostgres)('another process delivers an event within 1 s of its commit', async () => {
    const c = await t.customer();
    const stream = sseReader((await otherHttp('GET', '/customers/self/events', { key: c.key, headers: { accept: 'text/event-stream' } })).body!);
    await new Promise((r) => setTimeout(r, 100));
    const start = Date.now();
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 7 } });
    const [event] = await stream.next(1, 1000);
    expect(event?.event).toBe('setting.set');
    expect(Date.now() - start).toBeLessThan(1000);
    await stream.cancel();
  });

  it.runIf(onPostgres)('the feed connection drops and returns: open streams catch up from the log, nothing lost', async () => {
    const c = await t.customer();
    const stream = sseReader((await otherHttp('GET', '/customers/self/events', { key: c.key, headers: { accept: 'text/event-stream' } })).body!);
    await new Promise((r) => setTimeout(r, 100));
    // Cut every LISTEN connection of this database; the listeners reconnect after a second.
    await t.database.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'gateway-feed' AND pid <> pg_backend_pid()`,
    );
    for (let limit = 1; limit <= 5; limit++) await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit } });
    const got = await stream.next(5, 5000);
    expect(got.map((e) => JSON.parse(e.data!).changes['concurrency-limit'].to)).toEqual([1, 2, 3, 4, 5]);
    await stream.cancel();
  });
});
