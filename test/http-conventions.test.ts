import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { loadConfig } from '../src/boot/config.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';

/** What browsers and HTTP clients expect besides the body: CORS, compression, validators. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const ORIGIN = 'https://app.example.com';

function preflight(app: { fetch: typeof fetch }, headers: string) {
  return app.fetch('http://test/graphql', {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
  });
}

describe('CORS', () => {
  it('lets a browser send the tracing headers of OpenTelemetry and Sentry, and an event stream\'s Last-Event-ID, by default, and caches the preflight', async () => {
    const app = createApp(t.services, createLogger('silent'), loadConfig({ CORS_ORIGINS: ORIGIN }));
    // What fetch-event-source's reconnect asks: its key and the id to resume after.
    const res = await preflight(app as never, 'authorization,content-type,last-event-id,traceparent,tracestate,baggage,sentry-trace');
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const allowed = res.headers.get('access-control-allow-headers')!.split(',').map((h) => h.trim());
    expect(allowed).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-request-id', 'last-event-id', 'traceparent', 'tracestate', 'baggage', 'sentry-trace']),
    );
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('takes the allowed request headers from CORS_ALLOWED_HEADERS', async () => {
    const app = createApp(t.services, createLogger('silent'), loadConfig({ CORS_ORIGINS: ORIGIN, CORS_ALLOWED_HEADERS: 'Authorization, Content-Type, X-Tenant-Hint' }));
    const res = await preflight(app as never, 'authorization,x-tenant-hint');
    expect(res.headers.get('access-control-allow-headers')!.split(',').map((h) => h.trim())).toEqual(['authorization', 'content-type', 'x-tenant-hint']);
  });

  it('refuses a CORS_ALLOWED_HEADERS that is not a list of header names, naming the variable', () => {
    expect(() => loadConfig({ CORS_ALLOWED_HEADERS: 'authorization, bad header' })).toThrow(/CORS_ALLOWED_HEADERS/);
    expect(() => loadConfig({ CORS_ALLOWED_HEADERS: ' , ' })).toThrow(/CORS_ALLOWED_HEADERS/);
  });
});

describe('compression', () => {
  it('compresses a large REST answer with br or gzip as Accept-Encoding allows, and says Vary', async () => {
    const plain = await t.http('GET', '/openapi.json');
    const text = await plain.text();
    expect(text.length).toBeGreaterThan(1024);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i);

    const br = await t.http('GET', '/openapi.json', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    const brBytes = Buffer.from(await br.arrayBuffer());
    expect(brBytes.length).toBeLessThan(text.length / 3);
    expect(brotliDecompressSync(brBytes).toString()).toBe(text);

    const gzip = await t.http('GET', '/openapi.json', { headers: { 'accept-encoding': 'gzip, br;q=0' } });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await gzip.arrayBuffer())).toString()).toBe(text);

    const none = await t.http('GET', '/openapi.json', { headers: { 'accept-encoding': 'identity, gzip;q=0' } });
    expect(none.headers.get('content-encoding')).toBeNull();
    expect(await none.text()).toBe(text);
  });

  it('compresses a large GraphQL answer, and leaves a small one as it is', async () => {
    const big = await t.http('POST', '/graphql', {
      key: t.systemKey,
      body: { query: '{ __schema { types { name fields { name } } } }' },
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(big.status).toBe(200);
    expect(big.headers.get('content-encoding')).toBe('gzip');
    const json = JSON.parse(gunzipSync(Buffer.from(await big.arrayBuffer())).toString());
    expect(json.data.__schema.types.length).toBeGreaterThan(10);

    const small = await t.http('POST', '/graphql', { key: t.systemKey, body: { query: '{ __typename }' }, headers: { 'accept-encoding': 'gzip, br' } });
    expect(small.headers.get('content-encoding')).toBeNull();
    expect(await small.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('ETag and conditional GET on REST reads', () => {
  it('answers a read with a strong ETag and private, no-cache; If-None-Match with it is 304 without a body until the resource changes', async () => {
    const c = await t.customer();
    const first = await t.http('GET', '/customers/self', { key: c.key });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/); // strong: no W/
    expect(first.headers.get('cache-control')).toBe('private, no-cache');

    const again = await t.http('GET', '/customers/self', { key: c.key, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);

    const head = await t.http('HEAD', '/customers/self', { key: c.key, headers: { 'if-none-match': `"other", ${etag}` } });
    expect(head.status).toBe(304);

    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 3 } });
    const changed = await t.http('GET', '/customers/self', { key: c.key, headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((await changed.json()).settings).toEqual({ 'concurrency-limit': 3 });
  });

  it('names the compressed body with its own ETag, which If-None-Match accepts too', async () => {
    const br = await t.http('GET', '/openapi.json', { headers: { 'accept-encoding': 'br' } });
    const etag = br.headers.get('etag')!;
    expect(etag).toMatch(/-br"$/);
    const again = await t.http('GET', '/openapi.json', { headers: { 'accept-encoding': 'br', 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('still checks the key before answering 304', async () => {
    const c = await t.customer();
    const etag = (await t.http('GET', '/customers/self', { key: c.key })).headers.get('etag')!;
    const res = await t.http('GET', '/customers/self', { headers: { 'if-none-match': etag } });
    expect(res.status).toBe(401);
  });
});

describe('introspection without a key', () => {
  it('answers an introspection-only query without a key, or with the Headers template GraphiQL starts with', async () => {
    for (const headers of [{}, { authorization: 'Bearer XI...' }] as Record<string, string>[]) {
      const res = await t.http('POST', '/graphql', { headers, body: { query: '{ __schema { queryType { name } } }' } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).data.__schema.queryType.name).toBe('Query');
    }
  });

  it('opens nothing else: a query that also selects data, or a mutation, still needs a key', async () => {
    for (const query of ['{ __schema { queryType { name } } me { name } }', '{ __type(name: "Customer") { name } customers { edges { node { name } } } }', '{ ... on Query { __schema { queryType { name } } me { name } } }']) {
      const res = await t.http('POST', '/graphql', { body: { query } });
      expect(res.status, query).toBe(401);
      expect(JSON.stringify(await res.json())).not.toMatch(/"name"/);
    }
  });

  it('answers no schema without a key when GRAPHQL_INTROSPECTION is off', async () => {
    const closed = createApp(t.services, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: false, METRICS: true });
    const res = await httpClient(closed)('POST', '/graphql', {
      body: { query: '{ __schema { queryType { name } } }' },
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});
