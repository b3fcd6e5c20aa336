import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketTransport } from '../src/graphql/websocket.js';
import { serveWithWebSocket } from './websocket-server.js';
import { createTestApp, type TestApp } from './helpers.js';
import { sseReader } from './sse.js';

/**
 * GraphQL over WebSocket (graphql-transport-ws) with graphql-ws's own client, from Node over `ws`,
 * against a real listening server: the same keys, authorization, limits and stream slots as the
 * SSE subscriptions.
 */
const ORIGIN = 'https://app.example.com';
const MAX_STREAMS = 3;
let t: TestApp;
let server: Server;
let transport: WebSocketTransport;
let url: string;

beforeAll(async () => {
  t = await createTestApp({ maxStreamsPerKey: MAX_STREAMS });
  const options = { CORS_ORIGINS: [ORIGIN], GRAPHQL_INTROSPECTION: true, METRICS: false };
  ({ server, transport } = await serveWithWebSocket(t.services, options));
  url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
});
afterAll(async () => {
  await transport.close();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client that does not retry, and tells how its socket closed. */
function client(connectionParams: Record<string, unknown> | undefined, headers: Record<string, string> = {}) {
  let onClosed!: (closed: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (onClosed = resolve));
  const c: Client = createClient({
    url,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols: string[]) {
        super(address, protocols, { headers });
      }
    },
    on: { closed: (event) => onClosed({ code: (event as CloseEvent).code, reason: String((event as CloseEvent).reason) }) },
    onNonLazyError: () => {},
  });
  return { client: c, closed };
}

/** One subscription's results, and how it ended (complete, or an error). */
function subscribe(c: Client, query: string) {
  const results: any[] = [];
  let waiters: (() => void)[] = [];
  let ended: { error?: unknown } | undefined;
  const notify = () => {
    for (const w of waiters) w();
    waiters = [];
  };
  const unsubscribe = c.subscribe(
    { query },
    {
      next: (value) => {
        results.push(value);
        notify();
      },
      error: (error) => {
        ended = { error };
        notify();
      },
      complete: () => {
        ended ??= {};
        notify();
      },
    },
  );
  return {
    results,
    get ended() {
      return ended;
    },
    /** Waits until `n` results have come, or the subscription has ended, for at most `ms`. */
    async until(n: number, ms = 5000) {
      const deadline = Date.now() + ms;
      while (results.length < n && !ended && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, Math.max(0, deadline - Date.now()));
        });
      }
      return results;
    },
    unsubscribe,
  };
}

/** Waits until the hub holds `n` streams (a subscription has taken its slot), for at most 5 s. */
async function streamsReach(n: number) {
  for (let i = 0; i < 250 && t.services.events.hub.streams !== n; i++) await new Promise((r) => setTimeout(r, 20));
  return t.services.events.hub.streams;
}

describe('GraphQL over WebSocket (graphql-ws)', () => {
  it('delivers a change made through REST to a subscription, with the key in connectionParams', async () => {
    const c = await t.customer();
    const before = t.services.events.hub.streams;
    const { client: ws } = client({ Authorization: `Bearer ${c.key}` });
    const sub = subscribe(ws, 'subscription { customerChanged { name profile } }');
    expect(await streamsReach(before + 1)).toBe(before + 1);
    await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { live: 'websocket' } } });
    const [first] = await sub.until(1);
    expect(first).toEqual({ data: { customerChanged: { name: c.name, profile: { live: 'websocket' } } } });
    sub.unsubscribe();
    // Completing the subscription gives its slot back.
    expect(await streamsReach(before)).toBe(before);
    await ws.dispose();
  });

  it('takes the key from the lower-case connectionParams.authorization, or from the upgrade request header', async () => {
    const c = await t.customer();
    for (const { client: ws } of [client({ authorization: `Bearer ${c.key}` }), client(undefined, { authorization: `Bearer ${c.key}` })]) {
      const sub = subscribe(ws, '{ customer { name } }');
      expect(await sub.until(1)).toEqual([{ data: { customer: { name: c.name } } }]);
      await ws.dispose();
    }
  });

  it('runs queries and mutations over the socket, with the same authorization as over HTTP', async () => {
    const c = await t.customer();
    const other = await t.customer();
    const { client: ws } = client({ Authorization: `Bearer ${c.key}` });
    const query = subscribe(ws, '{ customer { uuid name } }');
    expect(await query.until(1)).toEqual([{ data: { customer: { uuid: c.uuid, name: c.name } } }]);
    const mutation = subscribe(ws, 'mutation { setConcurrencyLimit(limit: 7) { name } }');
    const [result] = await mutation.until(1);
    expect(result).toEqual({ data: { setConcurrencyLimit: { name: c.name } } });
    const read = (await (await t.http('GET', '/customers/self/concurrency-limit', { key: c.key })).json()) as Record<string, unknown>;
    expect(JSON.stringify(read)).toContain('7');
    const refused = subscribe(ws, `{ customer(id: "${other.uuid}") { name } }`);
    const [answer] = await refused.until(1);
    expect(answer.errors[0].extensions.code).toBe('FORBIDDEN');
    await ws.dispose();
  });

  it("refuses another customer's subscription (the socket stays open for its own)", async () => {
    const c = await t.customer();
    const other = await t.customer();
    const { client: ws, closed } = client({ Authorization: `Bearer ${c.key}` });
    const refused = subscribe(ws, `subscription { customerEvents(customer: "${other.uuid}") { id } }`);
    await refused.until(1);
    const outcome = refused.results[0]?.errors ?? refused.ended?.error;
    expect(JSON.stringify(outcome)).toContain('FORBIDDEN');
    const own = subscribe(ws, '{ customer { name } }');
    expect(await own.until(1)).toEqual([{ data: { customer: { name: c.name } } }]);
    await ws.dispose();
    expect((await closed).code).toBe(1000);
  });

  it('closes the socket with 4401 for a missing or unknown key', async () => {
    for (const params of [undefined, { Authorization: 'Bearer XIaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }]) {
      const { client: ws, closed } = client(params);
      const sub = subscribe(ws, '{ customer { name } }');
      const { code } = await closed;
      expect(code).toBe(4401);
      expect(sub.results).toEqual([]);
      await ws.dispose();
    }
  });

  for (const [how, change] of [
    ['suspended', (key: string) => t.http('PATCH', '/customers/self/apikeys/watcher', { key, body: { active: false } })],
    ['deleted', (key: string) => t.http('DELETE', '/customers/self/apikeys/watcher', { key })],
  ] as const) {
    it(`closes a ${how} key's socket (4401) and ends its subscription, within the bound of the SSE streams`, async () => {
      const c = await t.customer();
      const second = (await (await t.http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'watcher' } })).json()) as { secret: string };
      const before = t.services.events.hub.streams;
      const { client: ws, closed } = client({ Authorization: `Bearer ${second.secret}` });
      subscribe(ws, 'subscription { customerEvents { id type } }');
      expect(await streamsReach(before + 1)).toBe(before + 1);
      const changed = Date.now();
      expect((await change(c.key)).status).toBeLessThan(300);
      const result = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(r, 5000))]);
      expect(result?.code).toBe(4401);
      // A second as promised, plus room for a loaded machine.
      expect(Date.now() - changed).toBeLessThan(3000);
      expect(await streamsReach(before)).toBe(before);
      await ws.dispose();
    });
  }

  it('closes the socket with 4403 when the customer is deactivated', async () => {
    const c = await t.customer();
    const { client: ws, closed } = client({ Authorization: `Bearer ${c.key}` });
    subscribe(ws, 'subscription { customerEvents { id type } }');
    await streamsReach(t.services.events.hub.streams);
    await new Promise((r) => setTimeout(r, 200));
    expect((await t.http('PATCH', `/customers/${c.uuid}`, { key: t.systemKey, body: { active: false } })).status).toBe(200);
    const result = await Promise.race([closed, new Promise<undefined>((r) => setTimeout(r, 5000))]);
    expect(result?.code).toBe(4403);
    await ws.dispose();
  });

  it('counts WebSocket subscriptions and SSE streams together against MAX_STREAMS_PER_KEY', async () => {
    const c = await t.customer();
    const sse = await t.http('GET', '/customers/self/events', { key: c.key, headers: { accept: 'text/event-stream' } });
    expect(sse.status).toBe(200);
    const { client: ws } = client({ Authorization: `Bearer ${c.key}` });
    const subs = [];
    for (let i = 1; i < MAX_STREAMS; i++) subs.push(subscribe(ws, 'subscription { customerEvents { id } }'));
    // The one SSE stream and MAX_STREAMS - 1 subscriptions hold every slot: one more is refused, over either transport.
    for (let i = 0; i < 100 && (await Promise.resolve(t.services.events.hub.streams)) < MAX_STREAMS; i++) await new Promise((r) => setTimeout(r, 20));
    const over = subscribe(ws, 'subscription { customerEvents { id } }');
    await over.until(1);
    expect(JSON.stringify(over.results[0]?.errors ?? over.ended?.error)).toContain('RATE_LIMITED');
    expect((await t.http('GET', '/customers/self/events', { key: c.key, headers: { accept: 'text/event-stream' } })).status).toBe(429);
    // Give one back (the SSE stream): a WebSocket subscription may have it.
    await sseReader(sse.body!).cancel();
    await new Promise((r) => setTimeout(r, 100));
    const again = subscribe(ws, 'subscription { customerEvents { id } }');
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 3 } });
    const [event] = await again.until(1);
    expect(event?.data?.customerEvents?.id).toBeDefined();
    await ws.dispose();
  });

  it('applies the operation limits of /graphql (GRAPHQL_MAX_ALIASES, 100 by default)', async () => {
    const c = await t.customer();
    const { client: ws } = client({ Authorization: `Bearer ${c.key}` });
    const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: customer { name }`).join(' ');
    const sub = subscribe(ws, `{ ${aliases} }`);
    await sub.until(1);
    const errors = (sub.ended?.error ?? sub.results[0]?.errors) as { message: string; extensions?: { code?: string } }[];
    expect(errors[0]!.extensions?.code).toBe('BAD_REQUEST');
    expect(errors[0]!.message).toMatch(/alias/i);
    await ws.dispose();
  });

  it('closes the socket with 1009 for a message larger than MAX_BODY_BYTES (64 KiB)', async () => {
    const c = await t.customer();
    const { client: ws, closed } = client({ Authorization: `Bearer ${c.key}` });
    subscribe(ws, `{ customer { name } } # ${'x'.repeat(70_000)}`);
    expect((await closed).code).toBe(1009);
    await ws.dispose();
  });

  it('refuses a browser on an origin outside CORS_ORIGINS, and admits one on an allowed origin', async () => {
    const c = await t.customer();
    const attempt = (origin: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(url, 'graphql-transport-ws', { headers: { origin } });
        socket.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          socket.terminate();
        });
        socket.on('open', () => {
          resolve(101);
          socket.close();
        });
        socket.on('error', () => {});
      });
    expect(await attempt('https://evil.example.com')).toBe(403);
    expect(await attempt(ORIGIN)).toBe(101);
    const { client: ws } = client({ Authorization: `Bearer ${c.key}` }, { origin: ORIGIN });
    expect(await subscribe(ws, '{ customer { name } }').until(1)).toEqual([{ data: { customer: { name: c.name } } }]);
    await ws.dispose();
  });
});

describe('GraphQL over WebSocket with TRUSTED_DOCUMENTS', () => {
  it('runs only the documents in the file: another document is refused with BAD_REQUEST', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-ws-'));
    const file = join(dir, 'persisted-documents.json');
    const trusted = '{ customer { name } }';
    writeFileSync(file, JSON.stringify({ abc123: trusted }));
    const options = { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false, TRUSTED_DOCUMENTS: file };
    const { server: own, transport: ownTransport } = await serveWithWebSocket(t.services, options);
    const c = await t.customer();
    const ws = createClient({
      url: `ws://127.0.0.1:${(own.address() as { port: number }).port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${c.key}` },
      retryAttempts: 0,
    });
    try {
      expect(await subscribe(ws, trusted).until(1)).toEqual([{ data: { customer: { name: c.name } } }]);
      const other = subscribe(ws, '{ customer { uuid } }');
      await other.until(1);
      expect(JSON.stringify(other.ended?.error ?? other.results[0]?.errors)).toContain('BAD_REQUEST');
    } finally {
      await ws.dispose();
      await ownTransport.close();
      await new Promise((resolve) => own.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
