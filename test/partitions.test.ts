import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configDefaults } from '../src/kernel/config.js';
import { serviceBundle, emptyDatabase, redisAnswers, startService, within, type Service } from './processes.js';
import { sseReader } from './sse.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * Silent partitions, not only clean cuts. Two service processes on one PostgreSQL database and one
 * Redis, each link behind a TCP proxy of the test's (test/tcp-proxy.ts): the pool's link to
 * PostgreSQL (shared), each process's LISTEN link, and Redis (shared). Under a steady load of reads
 * and writes on both processes, each link is stalled (bytes held, no reset) for several times the
 * bounds, then restored; the database link is also cut, and its backends terminated. Asserted:
 * no acknowledged write lost; no request held longer than the request bound; no 500; every 503
 * with Retry-After; /ready answering within 2 s; a key suspended, or a setting changed, through one
 * process refused, or read, by the other within the feed bound while the other's LISTEN link is
 * stalled; a stalled Redis costing no more than one timeout per back-off; and recovery within 2 s
 * of the restore.
 *
 * The bounds are scaled down from the defaults (docs/operations.md, Deployment notes) so the suite runs in
 * CI's time; the stalls are several times longer than them, as in the field.
 */
const base = process.env.TEST_DATABASE_URL;
const redisUp = await redisAnswers(6379);
const skipReason = !base ? 'TEST_DATABASE_URL is not set (two processes need a real PostgreSQL)' : !redisUp ? 'no Redis answers at 127.0.0.1:6379' : undefined;
if (skipReason) console.warn(`partitions.test.ts skipped: ${skipReason}`);

/**
 * PARTITIONS_AT_DEFAULTS=1 runs the issue's own check instead: the default bounds (kernel/config.ts) and
 * 20 s stalls of every link (about 90 s more).
 */
const atDefaults = process.env.PARTITIONS_AT_DEFAULTS === '1';
const CONNECT_MS = atDefaults ? configDefaults.DB_CONNECT_TIMEOUT_MS : 1000;
const QUERY_MS = atDefaults ? configDefaults.DB_QUERY_TIMEOUT_MS : 1000;
const FEED_MS = atDefaults ? configDefaults.FEED_TIMEOUT_MS : 1000;
const AUTH_TTL_MS = atDefaults ? configDefaults.AUTH_CACHE_TTL_MS : 1000;
const REDIS_TIMEOUT_MS = configDefaults.REDIS_TIMEOUT_MS;
const REDIS_RETRY_MS = configDefaults.REDIS_RETRY_MS;
/** The stated bound on any request while the database does not answer (docs/operations.md). */
const REQUEST_BOUND_MS = CONNECT_MS + 2 * QUERY_MS;
/** How late a change made through another process may be seen while the feed is silent. */
const FEED_BOUND_MS = Math.max(FEED_MS, AUTH_TTL_MS);
/**
 * Slack on a shared 2-core machine (two processes, PostgreSQL, Redis, the load and vitest): timers
 * fire late under load. Every bound is asserted with it added, never instead of it.
 */
const SLACK_MS = 1000;
/** Stalls last several times the bound they test: the request bound for the database, the feed's and Redis's for theirs. */
const DB_STALL_MS = atDefaults ? 20_000 : 3 * REQUEST_BOUND_MS;
const STALL_MS = atDefaults ? 20_000 : 6 * Math.max(FEED_BOUND_MS, REDIS_RETRY_MS);
const RECOVERY_MS = 2000;
/** How often a stream polls the event log while its process's feed is down (domain/events/hub.ts). */
const POLL_MS = 1000;
const SYSTEM_KEY = `XI${'P'.repeat(16)}${'t'.repeat(16)}`;

interface Outcome {
  process: 'a' | 'b';
  kind: 'read' | 'write';
  status: number;
  retryAfter: string | null;
  start: number;
  ms: number;
}

describe.skipIf(Boolean(skipReason))('silent partitions under load on two processes', () => {
  let database: { url: string; drop(): Promise<void> };
  let db: pg.Client;
  let pgLink: TcpProxy;
  let listenA: TcpProxy;
  let listenB: TcpProxy;
  const redisLink = new TcpProxy('127.0.0.1', 6379);
  let a: Service;
  let b: Service;
  const outcomes: Outcome[] = [];
  let loadRunning = false;
  let load: Promise<void> = Promise.resolve();
  /** Per load worker: its customer's key and every limit a write of its acknowledged. */
  const workers: { customer: string; secret: string; acknowledged: number[] }[] = [];

  beforeAll(async () => {
    database = await emptyDatabase(base!);
    const target = new URL(database.url);
    const toPostgres = () => new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    pgLink = await toPostgres();
    listenA = await toPostgres();
    listenB = await toPostgres();
    await redisLink.start();
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const bundle = serviceBundle();
    const env = (listen: TcpProxy) => ({
      DATABASE_URL: pgLink.rewrite(database.url),
      LISTEN_DATABASE_URL: listen.rewrite(database.url),
      REDIS_URL: `redis://127.0.0.1:${redisLink.port}`,
      ADMIN_API_KEY: SYSTEM_KEY,
      WORKERS: undefined,
      DB_POOL_SIZE: '5',
      DB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
      DB_QUERY_TIMEOUT_MS: String(QUERY_MS),
      FEED_TIMEOUT_MS: String(FEED_MS),
      AUTH_CACHE_TTL_MS: String(AUTH_TTL_MS),
      READY_TIMEOUT_MS: '500',
      REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS),
      REDIS_RETRY_MS: String(REDIS_RETRY_MS),
      // Limited (so every request goes to Redis) but never refused by this load.
      RATE_LIMIT_PER_SECOND: '10000',
      RATE_LIMIT_BURST: '10000',
    });
    // One first, so the second finds the database migrated.
    a = await startService(bundle, env(listenA));
    b = await startService(bundle, env(listenB));
    for (let i = 0; i < 4; i++) {
      const customer = `load-${i}`;
      expect((await a.fetch('/customers', { method: 'POST', key: SYSTEM_KEY, body: { name: customer } })).status).toBe(201);
      const key = (await (await a.fetch(`/customers/${customer}/apikeys`, { method: 'POST', key: SYSTEM_KEY, body: { name: 'load' } })).json()) as { secret: string };
      workers.push({ customer, secret: key.secret, acknowledged: [] });
    }
    for (const s of [a, b]) expect(await within(5000, async () => (await readiness(s)).rateLimit === 'shared')).toBe(true);
    startLoad();
  }, 90_000);

  afterAll(async () => {
    loadRunning = false;
    await load;
    const proxies = [pgLink, listenA, listenB, redisLink].filter(Boolean);
    for (const proxy of proxies) await proxy.restore().catch(() => {});
    await Promise.all([a?.stop(), b?.stop()]);
    for (const proxy of proxies) await proxy.cut();
    await db?.end();
    await database?.drop();
  });

  /** Four workers, each on its own customer, alternating processes: reads, and a write in three. */
  function startLoad() {
    loadRunning = true;
    load = Promise.all(
      workers.map(async (worker, w) => {
        let limit = 0;
        for (let i = 0; loadRunning; i++) {
          const via = (i + w) % 2 === 0 ? a : b;
          const write = i % 3 === 0;
          const value = write ? ++limit : 0;
          const start = performance.now();
          let status = 0;
          let retryAfter: string | null = null;
          try {
            const res = await via.fetch(write ? '/customers/self/concurrency-limit' : '/customers/self', {
              method: write ? 'PUT' : 'GET',
              key: worker.secret,
              body: write ? { limit: value } : undefined,
              signal: AbortSignal.timeout(20_000),
            });
            await res.arrayBuffer();
            status = res.status;
            retryAfter = res.headers.get('retry-after');
          } catch {
            status = 0;
          }
          const ms = performance.now() - start;
          outcomes.push({ process: via === a ? 'a' : 'b', kind: write ? 'write' : 'read', status, retryAfter, start, ms });
          if (write && status === 200) worker.acknowledged.push(value);
          // A steady load, not a flood: about 40 requests a second over both processes.
          await sleep(status === 503 ? 50 : 20);
        }
      }),
    ).then(() => {});
  }

  async function readiness(s: Service): Promise<{ status: number; ms: number; rateLimit?: string }> {
    const start = performance.now();
    const res = await s.fetch('/ready', { signal: AbortSignal.timeout(20_000) });
    const body = (await res.json()) as { rateLimit?: string };
    return { status: res.status, ms: performance.now() - start, rateLimit: body.rateLimit };
  }

  /** /ready of both processes every 200 ms until `until` resolves; every answer's time and status. */
  async function watchReady(until: Promise<unknown>) {
    const seen: { status: number; ms: number }[] = [];
    let done = false;
    void until.finally(() => (done = true));
    while (!done) {
      seen.push(...(await Promise.all([readiness(a), readiness(b)])));
      await sleep(200);
    }
    return seen;
  }

  /** The requests that started in [from, to). */
  const between = (from: number, to: number) => outcomes.filter((o) => o.start >= from && o.start < to);

  /** What every fault window must show: no 500 (no 5xx but 503), 503s with Retry-After, no request held past the bound. */
  function expectBounded(window: Outcome[], label: string) {
    const statuses = [...new Set(window.map((o) => o.status))].sort();
    for (const status of statuses) expect([200, 503], `${label}: statuses ${statuses}`).toContain(status);
    for (const o of window.filter((o) => o.status === 503)) expect(o.retryAfter, label).toMatch(/^\d+$/);
    const slowest = Math.max(...window.map((o) => o.ms));
    expect(slowest, `${label}: slowest request ${Math.round(slowest)} ms`).toBeLessThan(REQUEST_BOUND_MS + SLACK_MS);
    return { statuses, slowest: Math.round(slowest), count: window.length, unavailable: window.filter((o) => o.status === 503).length };
  }

  /** Time from now until both processes answer /ready 200 and a write through each succeeds. */
  async function recovery(): Promise<number> {
    const start = performance.now();
    const writer = workers[0]!;
    const ok = await within(10_000, async () => {
      const ready = await Promise.all([readiness(a), readiness(b)]);
      if (ready.some((r) => r.status !== 200)) return false;
      const writes = await Promise.all(
        [a, b].map((s) => s.fetch('/customers/self', { key: writer.secret, signal: AbortSignal.timeout(20_000) }).then((r) => r.status)),
      );
      return writes.every((s) => s === 200);
    });
    expect(ok).toBe(true);
    return performance.now() - start;
  }

  const report: Record<string, unknown> = {};
  afterAll(() => console.log('partitions.test.ts figures:', JSON.stringify(report)));

  it('PostgreSQL stalled: requests fail with 503 within the bound, /ready says 503 within 2 s, recovery within 2 s', async () => {
    await sleep(1000);
    const from = performance.now();
    pgLink.stall();
    const stall = sleep(DB_STALL_MS);
    const ready = await watchReady(stall);
    const restoredAt = performance.now();
    await pgLink.restore();
    const recovered = await recovery();
    const figures = expectBounded(between(from, restoredAt), 'PostgreSQL stalled');
    expect(figures.unavailable, 'requests failed while the database was stalled').toBeGreaterThan(0);
    expect(Math.max(...ready.map((r) => r.ms))).toBeLessThan(2000);
    // After the first bound, /ready says what is true: the database does not answer.
    expect(ready.slice(-4).every((r) => r.status === 503)).toBe(true);
    expect(recovered).toBeLessThan(RECOVERY_MS);
    report.pgStall = { ...figures, readyMaxMs: Math.round(Math.max(...ready.map((r) => r.ms))), recoveredMs: Math.round(recovered) };
  }, 60_000);

  it("one process's LISTEN link stalled: a key suspended and a setting changed through the other are seen within the feed bound", async () => {
    // A customer only this test writes, through A: B hears of it only by its feed (or its fallbacks).
    expect((await a.fetch('/customers', { method: 'POST', key: SYSTEM_KEY, body: { name: 'feed-test' } })).status).toBe(201);
    const newKey = async (name: string) =>
      (await (await a.fetch('/customers/feed-test/apikeys', { method: 'POST', key: SYSTEM_KEY, body: { name } })).json()) as { secret: string; keyId: string };
    const owner = await newKey('owner');
    const created = await newKey('suspended');
    expect((await b.fetch('/customers/self', { key: created.secret })).status).toBe(200);
    expect((await b.fetch('/customers/self', { key: owner.secret })).status).toBe(200);
    // A live event stream on B, drained of the events so far.
    const stream = await b.fetch('/customers/self/events', { key: owner.secret, headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const events = sseReader(stream.body!);
    while ((await events.next(1, 500)).length > 0);
    const delivery: number[] = [];
    const from = performance.now();
    listenB.stall();
    const staleness: { kind: string; ms: number }[] = [];
    const readiness503: number[] = [];
    // Changes at once (before the silence is noticed), then after it.
    for (const delay of [0, 1500, 1500]) {
      await sleep(delay);
      for (const active of [false, true]) {
        const res = await a.fetch(`/customers/self/apikeys/${created.keyId}`, { method: 'PATCH', key: owner.secret, body: { active } });
        expect(res.status).toBe(200);
        const acked = performance.now();
        const want = active ? 200 : 401;
        let lastWrong = acked;
        const seen = await within(FEED_BOUND_MS + SLACK_MS, async () => {
          const start = performance.now();
          const status = (await b.fetch('/customers/self', { key: created.secret })).status;
          if (status !== want) lastWrong = start;
          return status === want;
        });
        expect(seen, `B ${active ? 'accepts the resumed' : 'refuses the suspended'} key`).toBe(true);
        staleness.push({ kind: active ? 'resume' : 'suspend', ms: Math.round(lastWrong - acked) });
      }
      const limit = 1000 + staleness.length;
      expect((await a.fetch('/customers/self/concurrency-limit', { method: 'PUT', key: owner.secret, body: { limit } })).status).toBe(200);
      const acked = performance.now();
      let lastStale = acked;
      const fresh = await within(FEED_BOUND_MS + SLACK_MS, async () => {
        const start = performance.now();
        const res = await b.fetch('/customers/self/concurrency-limit', { key: owner.secret });
        const ok = res.status === 200 && ((await res.json()) as { limit: number }).limit === limit;
        if (!ok) lastStale = start;
        return ok;
      });
      expect(fresh, 'B reads the new limit').toBe(true);
      staleness.push({ kind: 'setting', ms: Math.round(lastStale - acked) });
      // B's stream delivers the change: by the feed, or by polling the log once the feed is down.
      let delivered = false;
      while (!delivered && performance.now() - acked < FEED_BOUND_MS + POLL_MS + SLACK_MS) {
        for (const event of await events.next(1, 250)) {
          delivered ||= event.event === 'setting.set' && (JSON.parse(event.data!) as { changes: Record<string, { to: unknown }> }).changes['concurrency-limit']?.to === limit;
        }
      }
      expect(delivered, 'B streams the change').toBe(true);
      delivery.push(Math.round(performance.now() - acked));
      readiness503.push((await readiness(b)).status);
    }
    await sleep(Math.max(0, STALL_MS - (performance.now() - from)));
    const restoredAt = performance.now();
    await listenB.restore();
    const recovered = await recovery();
    // The feed is back: B's caches serve again, and a change through A reaches B within the bound.
    expect((await a.fetch(`/customers/self/apikeys/${created.keyId}`, { method: 'PATCH', key: owner.secret, body: { active: false } })).status).toBe(200);
    expect(await within(FEED_BOUND_MS + SLACK_MS, async () => (await b.fetch('/customers/self', { key: created.secret })).status === 401)).toBe(true);

    await events.cancel();
    for (const s of staleness) expect(s.ms, `${s.kind} seen late by ${s.ms} ms`).toBeLessThanOrEqual(FEED_BOUND_MS + SLACK_MS);
    // The database answers all along: the service stays ready and serves.
    expect(readiness503.every((s) => s === 200)).toBe(true);
    const figures = expectBounded(between(from, restoredAt), 'LISTEN stalled');
    expect(figures.unavailable).toBe(0);
    expect(recovered).toBeLessThan(RECOVERY_MS);
    report.listenStall = { ...figures, stalenessMs: staleness, sseDeliveryMs: delivery, recoveredMs: Math.round(recovered) };
  }, 60_000);

  it('Redis stalled: limits fall back per process at the cost of one timeout per back-off, and are shared again within 2 s', async () => {
    const from = performance.now();
    redisLink.stall();
    const stall = sleep(STALL_MS);
    const ready = await watchReady(stall);
    const restoredAt = performance.now();
    await redisLink.restore();
    const start = performance.now();
    const shared = await within(10_000, async () => (await Promise.all([readiness(a), readiness(b)])).every((r) => r.rateLimit === 'shared'));
    const sharedAfter = performance.now() - start;
    expect(shared).toBe(true);

    const window = between(from, restoredAt);
    const figures = expectBounded(window, 'Redis stalled');
    expect(figures.unavailable).toBe(0);
    // Each process pays the timeout with the requests in flight when the stall began, then with one
    // probe a back-off; without the breaker every request would. Requests as slow for other reasons
    // (a loaded machine) in as long a window just before are added as noise.
    const slow = (o: Outcome) => o.ms >= REDIS_TIMEOUT_MS;
    const slowed = window.filter(slow).length;
    const noise = between(from - STALL_MS, from).filter(slow).length;
    const allowed = 2 * (workers.length + 2 * Math.ceil(STALL_MS / REDIS_RETRY_MS)) + noise;
    expect(slowed, `${slowed} of ${window.length} requests took ≥ ${REDIS_TIMEOUT_MS} ms`).toBeLessThanOrEqual(allowed);
    expect(slowed, `${slowed} of ${window.length} requests took ≥ ${REDIS_TIMEOUT_MS} ms`).toBeLessThan(window.length / 2);
    expect(Math.max(...window.map((o) => o.ms))).toBeLessThan(REDIS_TIMEOUT_MS + SLACK_MS);
    expect(ready.every((r) => r.status === 200 && r.ms < 2000)).toBe(true);
    expect(sharedAfter).toBeLessThan(RECOVERY_MS);
    report.redisStall = { ...figures, slowed, allowed, sharedAgainMs: Math.round(sharedAfter) };
  }, 60_000);

  it('PostgreSQL cut (reset, then refused): 503 at once, recovery within 2 s', async () => {
    const from = performance.now();
    await pgLink.cut();
    await sleep(3000);
    const restoredAt = performance.now();
    await pgLink.restore();
    const recovered = await recovery();
    const figures = expectBounded(between(from, restoredAt), 'PostgreSQL cut');
    expect(figures.unavailable).toBeGreaterThan(0);
    expect(recovered).toBeLessThan(RECOVERY_MS);
    report.pgCut = { ...figures, recoveredMs: Math.round(recovered) };
  }, 30_000);

  it('PostgreSQL backends terminated under load: 503 or success, never 500', async () => {
    const from = performance.now();
    for (let i = 0; i < 3; i++) {
      await db.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      await sleep(300);
    }
    await sleep(500);
    const recovered = await recovery();
    const figures = expectBounded(between(from, performance.now()), 'backends terminated');
    expect(recovered).toBeLessThan(RECOVERY_MS);
    report.terminated = { ...figures, recoveredMs: Math.round(recovered) };
  }, 30_000);

  it('no acknowledged write was lost, and nothing answered 500 at any time', async () => {
    loadRunning = false;
    await load;
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503)).toEqual([]);
    for (const worker of workers) {
      const { rows } = await db.query<{ changes: unknown }>(
        `SELECT e.changes FROM events e JOIN customers c ON c.id = e.customer_id WHERE c.name = $1 AND e.type = 'setting.set'`,
        [worker.customer],
      );
      const recorded = new Set(rows.map((r) => (r.changes as Record<string, { to: number }>)['concurrency-limit']?.to));
      const missing = worker.acknowledged.filter((v) => !recorded.has(v));
      expect(missing, `${worker.customer}: acknowledged limits without their write`).toEqual([]);
      const { rows: stored } = await db.query<{ value: number }>(
        `SELECT s.value FROM settings s JOIN customers c ON c.id = s.customer_id WHERE c.name = $1 AND s.name = 'concurrency-limit'`,
        [worker.customer],
      );
      // Each worker's limits only go up: what is stored is the last acknowledged or a later one.
      expect(Number(stored[0]?.value)).toBeGreaterThanOrEqual(worker.acknowledged.at(-1) ?? 0);
    }
    report.requests = outcomes.length;
    report.acknowledgedWrites = workers.reduce((n, w) => n + w.acknowledged.length, 0);
    expect(a.output()).not.toMatch(/"level":50[^\n]*unexpected error/);
    expect(b.output()).not.toMatch(/"level":50[^\n]*unexpected error/);
  }, 30_000);
});
