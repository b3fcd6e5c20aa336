import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/domain/auth/principal.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { AppError } from '../src/kernel/errors.js';
import { SharedRateLimiter } from '../src/domain/shared-rate-limit.js';
import { freePort, redisAnswers, within } from './processes.js';

/**
 * The Redis-backed limiter on its own: limiters sharing a Redis take from one bucket per key; with
 * no Redis answering, each falls back to its own bucket at once, refusing nothing it would not
 * refuse alone. Also: a second process on one embedded data folder is refused, saying why.
 */
const limiters: SharedRateLimiter[] = [];
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
});

let ids = 0;
const customer = (): Principal => {
  const id = ++ids;
  return { type: 'customer', apiKeyId: id, keyId: `key_unit${process.pid}${Date.now()}${id}`, customerId: id };
};

async function outcome(limiter: SharedRateLimiter, principal: Principal): Promise<number> {
  try {
    await limiter.take(principal);
    return 200;
  } catch (error) {
    if (error instanceof AppError) return error.code === 'RATE_LIMITED' ? 429 : 0;
    return 500;
  }
}

function limiter(url: string, perSecond: number, burst: number): SharedRateLimiter {
  const l = new SharedRateLimiter({ url, perSecond, burst });
  limiters.push(l);
  return l;
}

describe('shared rate limiter without Redis', () => {
  it('limits per process at once, never failing a request, and says it is degraded', async () => {
    const l = limiter(`redis://127.0.0.1:${await freePort()}`, 0.1, 3);
    const key = customer();
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await outcome(l, key));
    expect(results).toEqual([200, 200, 200, 429, 429]);
    expect(l.mode()).toBe('degraded');
    // The operator's keys are never limited.
    const system: Principal = { type: 'system', apiKeyId: 999, keyId: 'key_system' };
    for (let i = 0; i < 10; i++) expect(await outcome(l, system)).toBe(200);
  });
});

const redisUp = await redisAnswers(6379);
if (!redisUp) console.warn('shared-rate-limit.test.ts: the shared bucket test is skipped: no Redis answers at 127.0.0.1:6379');

describe.skipIf(!redisUp)('shared rate limiter on Redis', () => {
  it('gives two limiters one bucket per key, with Retry-After from Redis', async () => {
    const a = limiter('redis://127.0.0.1:6379', 0.1, 4);
    const b = limiter('redis://127.0.0.1:6379', 0.1, 4);
    // Connected (until then each limits on its own, as without Redis).
    expect(await within(2000, async () => a.mode() === 'shared' && b.mode() === 'shared')).toBe(true);
    const key = customer();
    const other = customer();
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await outcome(i % 2 ? b : a, key));
    expect(results.filter((s) => s === 200)).toHaveLength(4);
    expect(results.slice(4)).toEqual([429, 429, 429, 429]);
    expect([a.mode(), b.mode()]).toEqual(['shared', 'shared']);
    // The wait until the next token (10 s at 0.1 a second), as the local limiter would say.
    const refused = await a.take(key).catch((error: AppError) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(Number((refused as AppError).headers?.['retry-after'])).toBeGreaterThanOrEqual(9);
    // Another key has a bucket of its own.
    expect(await outcome(b, other)).toBe(200);
  });
});

describe('the embedded database', () => {
  it('refuses a second process on its data folder, saying why and what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-lock-'));
    try {
      // A live process other than this one holds the folder.
      writeFileSync(join(dir, 'gateway.pid'), String(process.ppid));
      await expect(startEmbeddedPostgres(dir)).rejects.toThrow(
        /is in use by process \d+, and it serves one process at a time\. Stop that process first, or set DATABASE_URL/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
