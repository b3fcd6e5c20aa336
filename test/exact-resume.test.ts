import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';
import { serviceBundle, emptyDatabase, startService, type Service } from './processes.js';
import { sseReader, type Sse } from './sse.js';

/**
 * Exact resume under concurrent writers (contract 4c: "a reconnect with Last-Event-ID resumes with
 * nothing lost or repeated"; ids grow in commit order). Writers keep 16 writes in flight over six
 * customers while a consumer reads the live stream, dropping the connection every few events and
 * resuming from the last id it received (REST: `Last-Event-ID`; GraphQL: the `after` argument). Once
 * the writers are done and the log is quiet, the consumer's ids must be the log's ids: the same,
 * in the same order, none twice; and the log must hold exactly one event per acknowledged write.
 *
 * Each scenario runs on one process (the app in-process, on either database), and on PostgreSQL
 * also on two service processes sharing the database, writers and consumer spread over both
 * (a reconnect goes to the other process). The embedded database serves one process only.
 */
const base = process.env.TEST_DATABASE_URL;
if (!base) console.warn('exact-resume.test.ts: the two-process scenarios are skipped: TEST_DATABASE_URL is not set (two processes need a real PostgreSQL)');

const CUSTOMERS = 6;
const WRITES = 300;
const IN_FLIGHT = 16;
/** The consumer drops its connection after this many events and resumes. */
const EVERY = 7;

interface RequestInit {
  method?: string;
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}
/** One process serving the API: the in-process app, or a spawned service. */
interface Door {
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

interface EventJson {
  id: number;
  customer: string;
  type: string;
  changes: Record<string, { from: unknown; to: any }>;
}

interface Customer {
  uuid: string;
  key: string;
}

async function answer(res: Response, status = 200): Promise<any> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return text ? JSON.parse(text) : undefined;
}

/** The whole log (or one customer's), oldest first, paged as a client pages it. */
async function readLog(door: Door, key: string, path: string): Promise<EventJson[]> {
  const all: EventJson[] = [];
  let after = 0;
  for (;;) {
    const page = (await answer(await door.fetch(`${path}?after=${after}&limit=500`, { key }))) as EventJson[];
    all.push(...page);
    if (page.length < 500) return all;
    after = page.at(-1)!.id;
  }
}

async function makeCustomers(door: Door, systemKey: string, run: string): Promise<Customer[]> {
  const customers: Customer[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const created = await answer(await door.fetch('/customers', { method: 'POST', key: systemKey, body: { name: `resume-${run}-${i}` } }), 201);
    const key = await answer(await door.fetch(`/customers/${created.uuid}/apikeys`, { method: 'POST', key: systemKey, body: { name: 'writer' } }), 201);
    customers.push({ uuid: created.uuid, key: key.secret });
  }
  return customers;
}

/** A write's value, unique to it, so that its event names the write that made it. */
const valueOf = (write: number) => 1000 + write;

interface WriteResult {
  write: number;
  customer: string;
  status: number;
  body: string;
}

/**
 * WRITES writes, IN_FLIGHT at a time, over every door in turn and every customer in turn, each a
 * real change: PUT concurrency-limit, PATCH profile, GraphQL setConcurrencyLimit, by the
 * customer's own key or the system key.
 */
async function runWriters(doors: Door[], customers: Customer[], systemKey: string): Promise<WriteResult[]> {
  const results: WriteResult[] = [];
  let next = 0;
  const one = async (write: number): Promise<WriteResult> => {
    const customer = customers[write % customers.length]!;
    // Each customer's writes go through every door, in every kind, by both keys.
    const round = Math.floor(write / customers.length);
    const door = doors[round % doors.length]!;
    const bySystem = Math.floor(round / 6) % 2 === 1;
    const key = bySystem ? systemKey : customer.key;
    const who = bySystem ? customer.uuid : 'self';
    const value = valueOf(write);
    let res: Response;
    switch (round % 3) {
      case 0:
        res = await door.fetch(`/customers/${who}/concurrency-limit`, { method: 'PUT', key, body: { limit: value } });
        break;
      case 1:
        res = await door.fetch(`/customers/${who}`, { method: 'PATCH', key, body: { profile: { write: value } } });
        break;
      default:
        res = await door.fetch('/graphql', {
          method: 'POST',
          key,
          body: { query: 'mutation($c: ID!, $v: Int!) { setConcurrencyLimit(customer: $c, limit: $v) { modifiedAt } }', variables: { c: who, v: value } },
        });
    }
    const body = await res.text();
    const failed = res.status === 200 && body.includes('"errors"');
    return { write, customer: customer.uuid, status: failed ? 500 : res.status, body };
  };
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < WRITES) results.push(await one(next++));
    }),
  );
  return results.sort((a, b) => a.write - b.write);
}

/** The write an event records, from the unique value it wrote. */
function writeOf(event: EventJson): number | undefined {
  const to = event.type === 'setting.set' ? event.changes['concurrency-limit']?.to : event.changes.profile?.to?.write;
  return typeof to === 'number' ? to - 1000 : undefined;
}

/** A live feed and how to read it. */
interface Feed {
  label: string;
  /** Opens the stream on the `attempt`-th connection, resuming after `after` (the last id received). */
  open(attempt: number, after: string | undefined, signal: AbortSignal): Promise<Response>;
  /** The event id an SSE message carries; undefined for a message that is not an event. */
  idOf(message: Sse): string | undefined;
  /** Where the same events are paged, and by which key. */
  log: { door: Door; key: string; path: string };
  /** The customer whose events these are; undefined for every customer's. */
  customer?: string;
}

interface Consumed {
  ids: string[];
  connections: number;
  /** Messages that were neither an event nor expected (an `end`, an error). */
  odd: string[];
}

/**
 * Reads a feed, taking EVERY events per connection, then dropping it and resuming after the last id
 * received; stops once it has received `last()` (set when the writers are done), or at `deadline()`.
 */
async function consume(feed: Feed, last: () => string | undefined, deadline: () => number): Promise<Consumed> {
  const ids: string[] = [];
  const odd: string[] = [];
  let connections = 0;
  const reached = () => {
    const target = last();
    return target !== undefined && (target === '0' || (ids.length > 0 && BigInt(ids.at(-1)!) >= BigInt(target)));
  };
  while (!reached() && Date.now() < deadline()) {
    const abort = new AbortController();
    const res = await feed.open(connections++, ids.at(-1), abort.signal);
    if (res.status !== 200) throw new Error(`${feed.label}: ${res.status} ${await res.text()}`);
    const stream = sseReader(res.body!);
    try {
      let taken = 0;
      while (taken < EVERY && !reached() && Date.now() < deadline()) {
        const [message] = await stream.next(1, 250);
        if (!message) {
          if (stream.ended) break;
          continue;
        }
        const id = feed.idOf(message);
        if (id === undefined) {
          if (message.event !== 'complete') odd.push(`${message.event ?? ''} ${message.data ?? ''}`);
          break;
        }
        ids.push(id);
        taken++;
      }
    } finally {
      abort.abort();
      await stream.cancel();
    }
  }
  return { ids, connections, odd };
}

/** A REST event stream: `Last-Event-ID` on every reconnect, alternating over the doors. */
function restFeed(doors: Door[], key: string, path: string, label: string, customer?: string): Feed {
  return {
    label,
    customer,
    open: (attempt, after, signal) =>
      doors[attempt % doors.length]!.fetch(path, {
        key,
        headers: { accept: 'text/event-stream', ...(after !== undefined && { 'last-event-id': after }) },
        signal,
      }),
    idOf: (message) => (message.id && message.event !== 'end' && message.event !== 'error' ? message.id : undefined),
    log: { door: doors[0]!, key, path },
  };
}

/** A GraphQL `customerEvents` subscription over SSE, resumed with `after`, alternating over the doors. */
function graphqlFeed(doors: Door[], key: string, customer: Customer, who: string, label: string): Feed {
  return {
    label,
    customer: customer.uuid,
    open: (attempt, after, signal) =>
      doors[attempt % doors.length]!.fetch('/graphql', {
        method: 'POST',
        key,
        headers: { accept: 'text/event-stream' },
        body: {
          query: 'subscription($c: ID!, $after: String) { customerEvents(customer: $c, after: $after) { id type customer } }',
          variables: { c: who, after: after ?? null },
        },
        signal,
      }),
    idOf: (message) => {
      if (message.event === 'complete' || !message.data) return undefined;
      const payload = JSON.parse(message.data) as { data?: { customerEvents?: { id: string; customer: string } }; errors?: unknown };
      const event = payload.data?.customerEvents;
      if (!event || payload.errors) return undefined;
      expect(event.customer).toBe(customer.uuid);
      return String(event.id);
    },
    log: { door: doors[0]!, key, path: `/customers/${who}/events` },
  };
}

/**
 * The whole scenario: customers, the feeds' consumers started, the writers run, the log read once
 * quiet, the consumers run to the log's last id; then every comparison.
 */
async function scenario(doors: Door[], systemKey: string, run: string, feedsFor: (customers: Customer[]) => Feed[]): Promise<void> {
  const customers = await makeCustomers(doors[0]!, systemKey, run);
  const feeds = feedsFor(customers);
  const marker = (await readLog(doors[0]!, systemKey, '/events')).at(-1)?.id ?? 0;

  const targets = new Map<Feed, string>();
  let deadline = Date.now() + 60_000;
  const consumers = feeds.map((feed) =>
    consume(
      feed,
      () => targets.get(feed),
      () => deadline,
    ),
  );

  const results = await runWriters(doors, customers, systemKey);

  // The log is quiet: nothing new between two reads 300 ms apart.
  let log = await readLog(doors[0]!, systemKey, '/events');
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const again = await readLog(doors[0]!, systemKey, '/events');
    if (again.length === log.length) break;
    log = again;
  }
  const logs = new Map<Feed, EventJson[]>();
  for (const feed of feeds) {
    const events = await readLog(feed.log.door, feed.log.key, feed.log.path);
    logs.set(feed, events);
    targets.set(feed, String(events.at(-1)?.id ?? 0));
  }
  // The consumers have 15 s from here to catch up with the log.
  deadline = Date.now() + 15_000;
  const consumed = await Promise.all(consumers);

  // Every write was acknowledged.
  expect(results.filter((r) => r.status !== 200).map((r) => `write ${r.write}: ${r.status} ${r.body}`)).toEqual([]);

  // The log: ids strictly increasing; exactly one event per acknowledged write, each naming its write.
  const ids = log.map((e) => e.id);
  expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  const written = log.filter((e) => e.id > marker);
  expect(written.length).toBe(results.length);
  expect(written.map(writeOf).sort((a, b) => a! - b!)).toEqual(results.map((r) => r.write));
  for (const event of written) expect(event.customer).toBe(results[writeOf(event)!]!.customer);

  for (const [i, feed] of feeds.entries()) {
    const expected = logs.get(feed)!.map((e) => String(e.id));
    const { ids: received, connections, odd } = consumed[i]!;
    if (feed.customer) {
      // One customer's log: its own events only, one per write to it.
      expect(logs.get(feed)!.every((e) => e.customer === feed.customer)).toBe(true);
      expect(logs.get(feed)!.filter((e) => e.id > marker).length).toBe(results.filter((r) => r.customer === feed.customer).length);
    }
    const duplicates = received.filter((id, at) => received.indexOf(id) !== at);
    const expectedSet = new Set(expected);
    const receivedSet = new Set(received);
    expect(
      {
        duplicates,
        missing: expected.filter((id) => !receivedSet.has(id)),
        extra: received.filter((id) => !expectedSet.has(id)),
        odd,
      },
      feed.label,
    ).toEqual({ duplicates: [], missing: [], extra: [], odd: [] });
    expect(received, `${feed.label}: in log order`).toEqual(expected);
    // It really did resume, many times.
    expect(connections, feed.label).toBeGreaterThanOrEqual(Math.floor(expected.length / EVERY));
  }
}

/** Every scenario, on a set of doors. */
function scenarios(setup: () => { doors: Door[]; systemKey: string }, prefix: string) {
  it('GET /events (system key, SSE, Last-Event-ID): the consumer receives exactly the log, in order', async () => {
    const { doors, systemKey } = setup();
    await scenario(doors, systemKey, `${prefix}-all`, () => [restFeed(doors, systemKey, '/events', 'GET /events')]);
  }, 90_000);

  it("GET /customers/{c}/events (SSE, Last-Event-ID): each customer's consumer receives exactly its log, in order", async () => {
    const { doors, systemKey } = setup();
    await scenario(doors, systemKey, `${prefix}-one`, (customers) =>
      customers.map((c, i) =>
        i % 2 === 0
          ? restFeed(doors, c.key, '/customers/self/events', `customer ${i}, own key`, c.uuid)
          : restFeed(doors, systemKey, `/customers/${c.uuid}/events`, `customer ${i}, system key`, c.uuid),
      ),
    );
  }, 90_000);

  it("GraphQL customerEvents over SSE, resumed with after: each customer's subscription receives exactly its log, in order", async () => {
    const { doors, systemKey } = setup();
    await scenario(doors, systemKey, `${prefix}-gql`, (customers) =>
      customers.map((c, i) =>
        i % 2 === 0 ? graphqlFeed(doors, c.key, c, 'self', `customerEvents ${i}, own key`) : graphqlFeed(doors, systemKey, c, c.uuid, `customerEvents ${i}, system key`),
      ),
    );
  }, 90_000);
}

describe('one process (in-process app, either database)', () => {
  let t: TestApp;
  let door: Door;
  beforeAll(async () => {
    t = await createTestApp();
    door = { fetch: (path, init = {}) => t.http(init.method ?? 'GET', path, { key: init.key, body: init.body, headers: init.headers }) };
  });
  afterAll(() => t.close());
  scenarios(() => ({ doors: [door], systemKey: t.systemKey }), 'one');
});

describe.skipIf(!base)('two service processes on one PostgreSQL database', () => {
  let database: { url: string; drop(): Promise<void> };
  const services: Service[] = [];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const systemKey = `XI${Array.from({ length: 32 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;

  beforeAll(async () => {
    const bundle = serviceBundle();
    database = await emptyDatabase(base!);
    const env = {
      DATABASE_URL: database.url,
      ADMIN_API_KEY: systemKey,
      REDIS_URL: undefined,
      WORKERS: undefined,
      // 300 writes in a few seconds by six customer keys: rate limiting is not what is tested here.
      RATE_LIMIT_PER_SECOND: '0',
      // A dropped stream's slot is freed at its next write: heartbeats keep that quick.
      SSE_HEARTBEAT_MS: '500',
    };
    // One first (it applies the migrations and inserts the key), then the other.
    services.push(await startService(bundle, env));
    services.push(await startService(bundle, env));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await database?.drop();
  });

  scenarios(() => ({ doors: services, systemKey }), 'two');

  it('the processes logged no error', () => {
    for (const service of services) expect(service.output()).not.toMatch(/"level":(50|60)/);
  });
});
