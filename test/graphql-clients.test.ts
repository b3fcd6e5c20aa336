import type { Server } from 'node:http';
import { ApolloClient, HttpLink, InMemoryCache, gql, type ApolloLink } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { Client as UrqlClient, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WebSocketTransport } from '../src/graphql/websocket.js';
import { serveWithWebSocket } from './websocket-server.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * The GraphQL clients frontends use, unchanged, against a real listening server: Apollo Client 4
 * over WebSocket (GraphQLWsLink) and over plain HTTP (HttpLink: multipart subscriptions, @defer
 * with its incremental handler), and urql over graphql-ws.
 */
let t: TestApp;
let server: Server;
let transport: WebSocketTransport;
let base: string;

beforeAll(async () => {
  t = await createTestApp();
  const options = { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false };
  ({ server, transport } = await serveWithWebSocket(t.services, options));
  base = `127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
});
afterAll(async () => {
  await transport.close();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const wsClient = (key: string) =>
  createClient({ url: `ws://${base}`, webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${key}` }, retryAttempts: 0 });

const apollo = (link: ApolloLink) => new ApolloClient({ link, cache: new InMemoryCache(), incrementalHandler: new Defer20220824Handler() });

const CHANGED = gql`
  subscription Changed {
    customerChanged {
      uuid
      profile
    }
  }
`;

/** Collects an observable's values (and its error) until `n` values have come or `ms` passed. */
function collect<T>(subscribe: (observer: { next: (v: T) => void; error: (e: unknown) => void }) => { unsubscribe(): void }) {
  const values: T[] = [];
  let error: unknown;
  const subscription = subscribe({ next: (v) => values.push(v), error: (e) => (error = e) });
  return {
    values,
    get error() {
      return error;
    },
    async until(n: number, ms = 5000) {
      const deadline = Date.now() + ms;
      while (values.length < n && error === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      return values;
    },
    unsubscribe: () => subscription.unsubscribe(),
  };
}

/** Waits until the hub holds `n` streams (the subscription has taken its slot), for at most 5 s. */
async function streamsReach(n: number) {
  for (let i = 0; i < 250 && t.services.events.hub.streams !== n; i++) await new Promise((r) => setTimeout(r, 20));
  return t.services.events.hub.streams;
}

describe('Apollo Client 4', () => {
  it('GraphQLWsLink: a change made through REST arrives; another customer is refused', async () => {
    const c = await t.customer();
    const other = await t.customer();
    const ws = wsClient(c.key);
    const client = apollo(new GraphQLWsLink(ws));
    const before = t.services.events.hub.streams;
    const changes = collect<any>((o) => client.subscribe({ query: CHANGED }).subscribe(o));
    expect(await streamsReach(before + 1)).toBe(before + 1);
    await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { via: 'GraphQLWsLink' } } });
    const [first] = await changes.until(1);
    expect(first.data.customerChanged).toMatchObject({ uuid: c.uuid, profile: { via: 'GraphQLWsLink' } });
    changes.unsubscribe();

    const refused = collect<any>((o) =>
      client.subscribe({ query: gql`subscription { customerEvents(customer: "${other.uuid}") { id } }` }).subscribe(o),
    );
    await refused.until(1);
    expect(JSON.stringify(refused.values[0]?.error ?? refused.error)).toContain('FORBIDDEN');

    // Queries go over the socket too.
    const { data } = await client.query({ query: gql`{ customer { uuid } }` });
    expect(data).toEqual({ customer: { __typename: 'Customer', uuid: c.uuid } });
    await ws.dispose();
  });

  it('HttpLink alone: a subscription over multipart HTTP delivers a change made through REST', async () => {
    const c = await t.customer();
    const client = apollo(new HttpLink({ uri: `http://${base}`, headers: { authorization: `Bearer ${c.key}` } }));
    const before = t.services.events.hub.streams;
    const changes = collect<any>((o) => client.subscribe({ query: CHANGED }).subscribe(o));
    expect(await streamsReach(before + 1)).toBe(before + 1);
    await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { via: 'HttpLink' } } });
    // Well before the first heartbeat (5 s): a result is not held back until the next part.
    const [first] = await changes.until(1, 4000);
    expect(changes.error).toBeUndefined();
    expect(first.data.customerChanged).toMatchObject({ uuid: c.uuid, profile: { via: 'HttpLink' } });
    // Unsubscribing aborts the request: the subscription ends and gives its slot back.
    changes.unsubscribe();
    expect(await streamsReach(before)).toBe(before);
  });

  it('HttpLink: a refused multipart subscription is an error, not a hang', async () => {
    const c = await t.customer();
    const other = await t.customer();
    const client = apollo(new HttpLink({ uri: `http://${base}`, headers: { authorization: `Bearer ${c.key}` } }));
    const refused = collect<any>((o) =>
      client.subscribe({ query: gql`subscription { customerEvents(customer: "${other.uuid}") { id } }` }).subscribe(o),
    );
    await refused.until(1);
    expect(JSON.stringify(refused.values[0]?.error ?? refused.error)).toContain('FORBIDDEN');
  });

  it('@defer over HttpLink with the Defer20220824Handler: the deferred fields arrive after the rest', async () => {
    const c = await t.customer();
    const client = apollo(new HttpLink({ uri: `http://${base}`, headers: { authorization: `Bearer ${c.key}` } }));
    const query = gql`
      query Deferred {
        customer {
          uuid
          ... @defer {
            name
            apiKeys {
              keyId
            }
          }
        }
      }
    `;
    const results = collect<any>((o) => client.watchQuery({ query }).subscribe(o));
    for (let i = 0; i < 200 && !results.values.some((r) => r.data?.customer?.name); i++) await new Promise((r) => setTimeout(r, 25));
    const last = results.values.at(-1);
    expect(last.data.customer).toMatchObject({ uuid: c.uuid, name: c.name, apiKeys: [{ keyId: c.keyId }] });
    // The first result had the customer without its deferred fields.
    expect(results.values.some((r) => r.data?.customer?.uuid === c.uuid && r.data.customer.name === undefined)).toBe(true);
    results.unsubscribe();
  });
});

describe("Apollo's multipart subscription protocol on the wire", () => {
  it('answers multipart/mixed;subscriptionSpec=1.0 with a heartbeat part, then {"payload": result} parts', async () => {
    const c = await t.customer();
    const before = t.services.events.hub.streams;
    const controller = new AbortController();
    const res = await fetch(`http://${base}`, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${c.key}`,
        'content-type': 'application/json',
        accept: 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json',
      },
      body: JSON.stringify({ query: 'subscription { customerChanged { name profile } }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec=1.0');
    // Never compressed: a compressor would hold parts back.
    expect(res.headers.get('content-encoding')).toBeNull();
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the body ended before ${pattern}: ${JSON.stringify(text)}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil(/\{\}\r\n--graphql/);
    expect(text).toBe('\r\n--graphql\r\ncontent-type: application/json\r\n\r\n{}\r\n--graphql');
    expect(await streamsReach(before + 1)).toBe(before + 1);
    await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { via: 'multipart' } } });
    await readUntil(/payload/);
    await readUntil(/payload.*\r\n--graphql/);
    expect(text).toContain(`\r\ncontent-type: application/json\r\n\r\n{"payload":{"data":{"customerChanged":{"name":"${c.name}","profile":{"via":"multipart"}}}}}\r\n--graphql`);
    // The client going ends the subscription and gives its slot back.
    controller.abort();
    expect(await streamsReach(before)).toBe(before);
  });

  it('answers a request it refuses before any stream (no key) as it is: 401 JSON', async () => {
    const res = await fetch(`http://${base}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json' },
      body: JSON.stringify({ query: 'subscription { customerChanged { name } }' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.stringify(await res.json())).toContain('UNAUTHENTICATED');
  });
});

describe('@defer without an incremental client', () => {
  it('stays incremental when repeated past the point where graphql-jit compiles a document', async () => {
    const c = await t.customer();
    for (let i = 0; i < 15; i++) {
      const res = await t.http('POST', '/graphql', {
        key: c.key,
        headers: { accept: 'multipart/mixed' },
        body: { query: '{ customer { uuid ... @defer { name } } }' },
      });
      expect(res.headers.get('content-type')).toMatch(/^multipart\/mixed/);
      const text = await res.text();
      expect(text, `execution ${i + 1}`).toContain('"hasNext":true');
      expect(text).toContain(`"incremental":[{"data":{"name":"${c.name}"}`);
    }
  });

  it('is 406 for a client that accepts only JSON (the result comes in parts, which JSON cannot carry)', async () => {
    const c = await t.customer();
    const res = await t.http('POST', '/graphql', {
      key: c.key,
      headers: { accept: 'application/json' },
      body: { query: '{ customer { uuid ... @defer { name } } }' },
    });
    expect(res.status).toBe(406);
    // The same document without @defer is an ordinary answer.
    expect((await t.gql(c.key, '{ customer { uuid name } }')).data).toEqual({ customer: { uuid: c.uuid, name: c.name } });
  });
});

describe('urql', () => {
  it('subscriptionExchange over graphql-ws: a change made through REST arrives', async () => {
    const c = await t.customer();
    const ws = wsClient(c.key);
    const client = new UrqlClient({
      url: `http://${base}`,
      exchanges: [
        subscriptionExchange({
          enableAllOperations: true,
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    const before = t.services.events.hub.streams;
    const values: any[] = [];
    const { unsubscribe } = client.subscription('subscription { customerChanged { uuid profile } }', {}).subscribe((r) => values.push(r));
    expect(await streamsReach(before + 1)).toBe(before + 1);
    await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { via: 'urql' } } });
    for (let i = 0; i < 200 && values.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(values[0]?.data?.customerChanged).toMatchObject({ uuid: c.uuid, profile: { via: 'urql' } });
    unsubscribe();
    await ws.dispose();
  });
});
