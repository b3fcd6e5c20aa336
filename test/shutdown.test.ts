import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase } from './helpers.js';
import { migratedDataDir, serviceBundle, startService, type Service } from './processes.js';

/**
 * Graceful shutdown of the real entry (`src/main.ts`, bundled as `npm start` builds it): SIGTERM while writes are in flight. The
 * listener closes at once, the in-flight requests finish with 2xx, the pending lastActivity is
 * written (ACTIVITY_FLUSH_MS is 10 minutes, so only the shutdown flush can write it), the database
 * is closed and the process exits 0 within 10 s. After a restart every acknowledged write is there.
 * On TEST_DATABASE_URL's server when it is set (a fresh database), else the embedded one.
 */
const dataDir = migratedDataDir('gateway-shutdown-');
const ADMIN = `XI${randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '').padEnd(32, 'x').slice(0, 32)}`;
let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

beforeAll(async () => {
  if (process.env.TEST_DATABASE_URL) database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The bundle on the test's database, with a system key and no activity flush before shutdown. */
function start(): Promise<Service> {
  return startService(serviceBundle(), {
    ADMIN_API_KEY: ADMIN,
    ACTIVITY_FLUSH_MS: '600000',
    RATE_LIMIT_PER_SECOND: '0',
    ...(database ? { DATABASE_URL: database.url } : { DATABASE_URL: undefined, DATA_DIR: dataDir }),
  });
}

async function call(port: number, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** A JSON request with a key, its body not yet written; `done` resolves with the answer. */
function jsonRequest(port: number, key: string, method: string, path: string, text: string, agent?: Agent) {
  const req = request({
    host: '127.0.0.1',
    port,
    method,
    path,
    agent: agent ?? false,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
  });
  const done = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(data || 'null') }));
    });
  });
  return { req, done };
}

/**
 * A request whose body arrives in two parts: the headers and the first half now, the rest when
 * `finish()` is called. Until then the server holds it in flight.
 */
function slowRequest(port: number, key: string, method: string, path: string, body: unknown) {
  const text = JSON.stringify(body);
  const half = Math.floor(text.length / 2);
  const { req, done } = jsonRequest(port, key, method, path, text);
  // Resolves once the headers and the first half have been handed to the kernel.
  const sent = new Promise<void>((resolve, reject) => req.write(text.slice(0, half), (error) => (error ? reject(error) : resolve())));
  return { sent, finish: () => req.end(text.slice(half)), done };
}

/** A GET on a new connection, answered. */
function getOnNewConnection(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    })
      .on('error', reject)
      .end();
  });
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('SIGTERM with requests in flight', () => {
  it('stops accepting, finishes them with 2xx, flushes activity, closes the database and exits 0; a restart has every acknowledged write', async () => {
    const first = await start();
    const created = await call(first.port, ADMIN, 'POST', '/graphql', {
      query: 'mutation { createCustomer(input: {name: "Shutdown Ltd"}) { uuid } createApiKey(customer: "Shutdown Ltd", name: "main") { secret apiKey { keyId } } }',
    });
    expect(created.body.errors, first.output()).toBeUndefined();
    const uuid: string = created.body.data.createCustomer.uuid;
    const key: string = created.body.data.createApiKey.secret;

    // 20 writes held in flight (their bodies half sent), each leaving its own trace: a new key.
    const slow = Array.from({ length: 20 }, (_, i) => slowRequest(first.port, key, 'POST', '/customers/self/apikeys', { name: `slow-${i}` }));
    // Make sure the server holds them: their bytes are sent, and a request on a connection opened
    // after theirs has been answered (connections are accepted, and their data read, in order).
    await Promise.all(slow.map((r) => r.sent));
    expect(await getOnNewConnection(first.port, '/health')).toBe(200);
    await sleep(100);
    // And 20 ordinary writes racing the signal: each is either acknowledged or never reached the server.
    const racing = Array.from({ length: 20 }, (_, i) =>
      call(first.port, key, i % 2 ? 'POST' : 'PUT', i % 2 ? '/customers/self/apikeys' : '/customers/self/concurrency-limit', i % 2 ? { name: `racing-${i}` } : { limit: i }).catch(
        (error: Error) => ({ status: 0, body: error.message }),
      ),
    );
    await sleep(20);
    const signalled = performance.now();
    first.child.kill('SIGTERM');

    // The listener closes while the slow requests are still in flight.
    let closed = false;
    for (let i = 0; i < 100 && !closed; i++) {
      closed = await refused(first.port);
      if (!closed) await sleep(20);
    }
    expect(closed, first.output()).toBe(true);
    expect(first.child.exitCode).toBeNull();

    for (const request of slow) request.finish();
    const slowDone = await Promise.all(slow.map((r) => r.done));
    expect(slowDone.map((r) => r.status)).toEqual(slow.map(() => 201));
    const racingDone = await Promise.all(racing);
    for (const r of racingDone) expect([0, 200, 201], JSON.stringify(r)).toContain(r.status);

    const code = await first.exited;
    const stoppedIn = performance.now() - signalled;
    expect(code, first.output()).toBe(0);
    expect(stoppedIn).toBeLessThan(10_000);
    expect(first.output()).toMatch(/"msg":"stopped"/);
    // The embedded database released its folder (its pid file goes when it is closed).
    if (!database) expect(existsSync(join(dataDir, 'gateway.pid'))).toBe(false);

    const acknowledged = [
      'main',
      ...slowDone.map((r) => r.body.name as string),
      ...racingDone.filter((r) => r.status === 201).map((r) => r.body.name as string),
    ];
    const lastLimit = racingDone.filter((r) => r.status === 200).at(-1)?.body.limit as number | undefined;

    // Only the shutdown flush can have written lastActivity (the interval is 10 minutes).
    if (database) {
      const row = await database.prisma.customer.findUniqueOrThrow({ where: { uuid } });
      expect(row.lastActivity).not.toBeNull();
    }

    const second = await start();
    try {
      const after = await call(second.port, ADMIN, 'POST', '/graphql', {
        query: `{ customer(id: "${uuid}") { lastActivity settings { concurrencyLimit } apiKeys { name lastUsedAt } } }`,
      });
      expect(after.body.errors).toBeUndefined();
      const customer = after.body.data.customer;
      expect(customer.lastActivity, 'lastActivity was flushed at shutdown').not.toBeNull();
      expect(customer.apiKeys.find((k: { name: string }) => k.name === 'main').lastUsedAt).not.toBeNull();
      const names = customer.apiKeys.map((k: { name: string }) => k.name);
      for (const name of acknowledged) expect(names).toContain(name);
      // Racing requests that set the limit: whichever was acknowledged, one of them is stored.
      if (lastLimit !== undefined) expect(customer.settings.concurrencyLimit).not.toBeNull();
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 90_000);

  it('SIGTERM just after a burst: every request whose bytes were sent before the signal is answered, none reset', async () => {
    const server = await start();
    try {
      const created = await call(server.port, ADMIN, 'POST', '/graphql', {
        query: 'mutation { createCustomer(input: {name: "Burst Ltd"}) { uuid } createApiKey(customer: "Burst Ltd", name: "main") { secret } }',
      });
      expect(created.body.errors, server.output()).toBeUndefined();
      const key: string = created.body.data.createApiKey.secret;
      // Half on keep-alive connections opened and left idle beforehand, half on new connections.
      const agent = new Agent({ keepAlive: true, maxSockets: 20 });
      await Promise.all(Array.from({ length: 20 }, () => post(server.port, key, { name: 'warm' }, agent).done));
      const burst = Array.from({ length: 40 }, (_, i) => post(server.port, key, { name: `burst-${i}` }, i % 2 ? agent : undefined));
      await Promise.all(burst.map((r) => r.sent));
      await sleep(50);
      server.child.kill('SIGTERM');
      const answers = await Promise.all(burst.map((r) => r.done.catch((error: Error) => ({ status: 0, body: error.message }))));
      agent.destroy();
      expect(answers.map((a, i) => `${i}:${a.status}`).filter((a) => !a.endsWith(":201")), server.output()).toEqual([]);
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 90_000);
});

/** A POST of a new key; `sent` resolves once its bytes are all handed to the kernel. */
function post(port: number, key: string, body: unknown, agent?: Agent) {
  const text = JSON.stringify(body);
  const { req, done } = jsonRequest(port, key, 'POST', '/customers/self/apikeys', text, agent);
  // Sent: the connection is up and every byte has left this process (is in the kernel's hands).
  const sent = new Promise<void>((resolve, reject) => {
    req.on('error', reject);
    req.on('socket', (socket) => {
      const flushed = () => {
        if (socket.writableLength === 0 && req.writableFinished) resolve();
        else setTimeout(flushed, 1);
      };
      const write = () => req.end(text, flushed);
      if (socket.connecting) socket.once('connect', write);
      else write();
    });
  });
  return { sent, done };
}

describe('SIGTERM with GraphQL WebSockets open', () => {
  it('closes each socket with 1001 and the reason (its subscription ends with it) and exits 0', async () => {
    const server = await start();
    try {
      const created = await call(server.port, ADMIN, 'POST', '/graphql', {
        query: 'mutation { createCustomer(input: {name: "Sockets Ltd"}) { uuid } createApiKey(customer: "Sockets Ltd", name: "live") { secret } }',
      });
      expect(created.body.errors, server.output()).toBeUndefined();
      const secret = created.body.data.createApiKey.secret as string;
      let closedWith!: (closed: { code: number; reason: string }) => void;
      const closed = new Promise<{ code: number; reason: string }>((resolve) => (closedWith = resolve));
      const client = createClient({
        url: `ws://127.0.0.1:${server.port}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: `Bearer ${secret}` },
        retryAttempts: 0,
        on: { closed: (event) => closedWith({ code: (event as CloseEvent).code, reason: String((event as CloseEvent).reason) }) },
      });
      const subscribed = new Promise<void>((resolve) => {
        client.subscribe(
          { query: 'subscription { customerEvents { id type } }' },
          { next: () => resolve(), error: () => {}, complete: () => {} },
        );
        // The subscription is running once the service answers a query on the same socket after it.
        client.subscribe({ query: '{ customer { uuid } }' }, { next: () => resolve(), error: () => {}, complete: () => {} });
      });
      await subscribed;
      server.child.kill('SIGTERM');
      const { code, reason } = await closed;
      expect(code).toBe(1001);
      expect(reason).toMatch(/shutting down/);
      expect(await server.exited).toBe(0);
      await client.dispose();
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 90_000);
});
