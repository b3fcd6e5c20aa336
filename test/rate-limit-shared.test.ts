import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  serviceBundle,
  emptyDatabase,
  freePort,
  hasRedisServer,
  killAndWait,
  redisAnswers,
  startRedis,
  startService,
  within,
  type Service,
} from './processes.js';

/**
 * Rate limits shared through Redis by two service processes on one PostgreSQL database: a key's
 * requests spread over both are limited as if one process served them; with Redis gone every
 * request is still answered (each process limits on its own, and /ready and /metrics say so), and
 * limits are shared again once Redis is back.
 */
const base = process.env.TEST_DATABASE_URL;
const redisServer = hasRedisServer();
const redisUp = await redisAnswers(6379);
const skipReason = !base
  ? 'TEST_DATABASE_URL is not set (two processes need a real PostgreSQL)'
  : !redisUp
    ? 'no Redis answers at 127.0.0.1:6379'
    : !redisServer
      ? 'redis-server is not on PATH'
      : undefined;
if (skipReason) console.warn(`rate-limit-shared.test.ts skipped: ${skipReason}`);

interface Key {
  secret: string;
}

describe.skipIf(Boolean(skipReason))('rate limits shared through Redis', () => {
  let bundle: string;
  let database: { url: string; drop(): Promise<void> };
  const services: Service[] = [];
  let redis: ChildProcess | undefined;
  const systemKey = `XI${'R'.repeat(16)}${'s'.repeat(16)}`;

  beforeAll(async () => {
    bundle = serviceBundle();
    database = await emptyDatabase(base!);
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    if (redis) await killAndWait(redis);
    await database?.drop();
  });

  async function pair(redisUrl: string, perSecond: number, burst: number): Promise<[Service, Service]> {
    const env = {
      DATABASE_URL: database.url,
      ADMIN_API_KEY: systemKey,
      REDIS_URL: redisUrl,
      RATE_LIMIT_PER_SECOND: String(perSecond),
      RATE_LIMIT_BURST: String(burst),
      WORKERS: undefined,
    };
    // One first, so the second finds the database migrated (starting together is replicas.test.ts).
    const first = await startService(bundle, env);
    const second = await startService(bundle, env);
    services.push(first, second);
    for (const s of [first, second]) expect(await within(5000, async () => (await readiness(s)) === 'shared')).toBe(true);
    return [first, second];
  }

  async function readiness(s: Service): Promise<string | undefined> {
    const res = await s.fetch('/ready');
    return res.status === 200 ? ((await res.json()) as { rateLimit?: string }).rateLimit : undefined;
  }

  async function sharedGauge(s: Service): Promise<string | undefined> {
    return /^rate_limit_shared (\d)$/m.exec(await (await s.fetch('/metrics')).text())?.[1];
  }

  let customers = 0;
  async function newKey(via: Service): Promise<Key> {
    const name = `limited-${++customers}`;
    expect((await via.fetch('/customers', { method: 'POST', key: systemKey, body: { name } })).status).toBe(201);
    const res = await via.fetch(`/customers/${name}/apikeys`, { method: 'POST', key: systemKey, body: { name: 'k' } });
    expect(res.status).toBe(201);
    return (await res.json()) as Key;
  }

  /** Sends `n` requests with the key, alternating between the services; the statuses per service. */
  async function spread(targets: Service[], key: Key, n: number, concurrency = 4) {
    const statuses: number[][] = targets.map(() => []);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          const res = await targets[i % targets.length]!.fetch('/customers/self', { key: key.secret });
          await res.arrayBuffer();
          statuses[i % targets.length]!.push(res.status);
        }
      }),
    );
    return { statuses, seconds: (performance.now() - started) / 1000 };
  }
  const accepted = (statuses: number[]) => statuses.filter((s) => s === 200).length;

  it('40 requests with one key over both processes: accepted ≤ burst + rate × elapsed', async () => {
    const [a, b] = await pair('redis://127.0.0.1:6379', 5, 5);
    const key = await newKey(a);
    const { statuses, seconds } = await spread([a, b], key, 40);
    const all = statuses.flat();
    expect(all.every((s) => s === 200 || s === 429)).toBe(true);
    expect(accepted(all)).toBeGreaterThanOrEqual(5);
    expect(accepted(all)).toBeLessThanOrEqual(5 + 5 * seconds);
    // Both processes answered, and both refused some: they take from one bucket.
    expect(statuses[0]!.length).toBe(20);
    expect(statuses[1]!.length).toBe(20);
    expect(await Promise.all([a.stop(), b.stop()])).toEqual([0, 0]);
  });

  it('Redis stopped mid-run: nothing fails, limits fall back per process, and are shared again when it is back', async () => {
    const port = await freePort();
    redis = await startRedis(port);
    // 3 at once and one more every 10 s: within this test's few seconds, a bucket holds exactly 3.
    const [c, d] = await pair(`redis://127.0.0.1:${port}`, 0.1, 3);

    const shared = await newKey(c);
    const before = await spread([c, d], shared, 8);
    expect(accepted(before.statuses.flat())).toBe(3);
    expect(await sharedGauge(c)).toBe('1');

    // Requests keep flowing while Redis is killed: none of them may fail.
    const during = newKey(c).then((key) => spread([c, d], key, 40, 2));
    await killAndWait(redis);
    redis = undefined;
    const flowing = await during;
    expect(flowing.statuses.flat().every((s) => s === 200 || s === 429)).toBe(true);

    for (const s of [c, d]) {
      expect(await within(2000, async () => (await readiness(s)) === 'degraded')).toBe(true);
      expect(await sharedGauge(s)).toBe('0');
    }
    // Each process now has its own bucket: 3 from each.
    const fallback = await newKey(c);
    const alone = await spread([c, d], fallback, 10);
    expect(alone.statuses.flat().every((s) => s === 200 || s === 429)).toBe(true);
    expect(alone.statuses.map(accepted)).toEqual([3, 3]);

    redis = await startRedis(port);
    for (const s of [c, d]) {
      expect(await within(5000, async () => (await readiness(s)) === 'shared')).toBe(true);
      expect(await sharedGauge(s)).toBe('1');
    }
    const again = await newKey(c);
    const after = await spread([c, d], again, 10);
    expect(accepted(after.statuses.flat())).toBe(3);
  }, 60_000);
});
