import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceBundle, emptyDatabase, getOnNewConnection, spawnService, startService, within, type Service } from './processes.js';

/**
 * WORKERS=n: one port, n worker processes (node:cluster), each a full replica. A worker that dies
 * is replaced; SIGTERM to the primary stops them all and exits 0. The embedded database refuses
 * more than one worker at start. Workers' log lines carry their pid, which is how the test tells
 * which one answered (by the request id each request sends).
 */
const base = process.env.TEST_DATABASE_URL;
if (!base) console.warn('workers.test.ts: the WORKERS=2 test is skipped: TEST_DATABASE_URL is not set (workers need a real PostgreSQL)');

let bundle: string;
beforeAll(() => {
  bundle = serviceBundle();
});

describe('WORKERS on the embedded database', () => {
  it('refuses to start more than one worker, saying why', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, WORKERS: '2', PORT: '0', DATA_DIR: `/tmp/gw-workers-${randomUUID()}` };
    delete env.DATABASE_URL;
    const { exited, output } = spawnService(bundle, env);
    expect(await exited).toBe(1);
    expect(output()).toContain('WORKERS=2 needs DATABASE_URL: the embedded database (DATA_DIR) serves one process only');
    expect(output()).not.toContain('listening');
  });
});

describe.skipIf(!base)('WORKERS=2 on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let service: Service;
  beforeAll(async () => {
    database = await emptyDatabase(base!);
  });
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  /** The pid of the worker that logged the request with this id, once it has. */
  async function answeredBy(requestId: string): Promise<number | undefined> {
    let pid: number | undefined;
    await within(2000, async () => {
      const line = service.output().split('\n').find((l) => l.includes(`"requestId":"${requestId}"`));
      pid = line ? Number(/"pid":(\d+)/.exec(line)?.[1]) : undefined;
      return pid !== undefined;
    });
    return pid;
  }

  async function servingPids(requests: number): Promise<Set<number>> {
    const pids = new Set<number>();
    for (let i = 0; i < requests; i++) {
      const requestId = randomUUID();
      expect(await getOnNewConnection(service.port, '/health', { 'x-request-id': requestId })).toBe(200);
      const pid = await answeredBy(requestId);
      if (pid) pids.add(pid);
    }
    return pids;
  }

  function workerPids(): number[] {
    return [...service.output().matchAll(/"worker":(\d+)[^\n]*"worker started"/g)].map((m) => Number(m[1]));
  }

  it('serves one port from two worker processes, replaces a worker that dies, and stops on SIGTERM with exit 0', async () => {
    service = await startService(bundle, { DATABASE_URL: database.url, WORKERS: '2', REDIS_URL: undefined });
    const started = workerPids();
    expect(started).toHaveLength(2);
    // Both workers listen (each logs it), then both answer on the one port.
    expect(await within(20_000, async () => (service.output().match(/listening on/g) ?? []).length === 2)).toBe(true);
    const pids = await servingPids(10);
    expect([...pids].sort()).toEqual([...started].sort());

    process.kill(started[0]!, 'SIGKILL');
    expect(await within(20_000, async () => workerPids().length === 3)).toBe(true);
    const replacement = workerPids()[2]!;
    expect(started).not.toContain(replacement);
    expect(await within(20_000, async () => (service.output().match(/listening on/g) ?? []).length === 3)).toBe(true);
    const after = await servingPids(10);
    expect([...after].sort()).toEqual([started[1]!, replacement].sort());

    expect(await service.stop()).toBe(0);
    // Each worker ran its graceful shutdown.
    expect(service.output().match(/"msg":"stopped"/g)).toHaveLength(2);
  }, 90_000);
});
