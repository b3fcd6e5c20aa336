import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { loadConfig } from '../src/boot/config.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * The service as node:http serves it (the rest of the suite mostly calls the app in-process): both
 * doors over a real connection, with what the front door adds to every answer.
 */
let t: TestApp;
let server: Server;
let port: number;
const ORIGIN = 'https://app.example.com';

beforeAll(async () => {
  t = await createTestApp();
  const app = createApp(t.services, createLogger('silent'), loadConfig({ CORS_ORIGINS: ORIGIN }));
  server = createServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a connection of its own; `body` may be larger than the limit (sent in pieces). */
function call(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    // A refused upload may see its connection closed before all of it is written.
    req.on('error', (error) => (body && Buffer.byteLength(body) > 65_536 ? undefined : reject(error)));
    req.end(body);
  });
}

const json = (a: Answer) => JSON.parse(a.body.toString());

describe('the front door over node:http', () => {
  it('answers REST with a request id (the caller\'s when sane), a strong ETag, and 304 for it', async () => {
    const c = await t.customer();
    const auth = { authorization: `Bearer ${c.key}` };
    const read = await call('GET', '/customers/self', { ...auth, 'x-request-id': 'trace-42' });
    expect(read.status).toBe(200);
    expect(read.headers['x-request-id']).toBe('trace-42');
    expect(read.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(read.headers['content-length'])).toBe(read.body.length);
    expect(json(read).uuid).toBe(c.uuid);
    const again = await call('GET', '/customers/self', { ...auth, 'if-none-match': read.headers.etag! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const insane = await call('GET', '/customers/self', { ...auth, 'x-request-id': 'has spaces in it' });
    expect(insane.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers HEAD with the headers and length GET would send, and no body', async () => {
    const c = await t.customer();
    const get = await call('GET', '/customers/self', { authorization: `Bearer ${c.key}` });
    const head = await call('HEAD', '/customers/self', { authorization: `Bearer ${c.key}` });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers.etag).toBe(get.headers.etag);
  });

  it('refuses a body over MAX_BODY_BYTES with 413 through either door, and closes that connection', async () => {
    const big = Buffer.alloc(200_000, 'a');
    const rest = await call('POST', '/customers', { authorization: `Bearer ${t.systemKey}`, 'content-type': 'application/json' }, big);
    expect(rest.status).toBe(413);
    expect(json(rest)).toMatchObject({ status: false, code: 'PAYLOAD_TOO_LARGE' });
    expect(rest.headers.connection).toBe('close');
    // No Content-Length: counted while it arrives.
    const chunked = await call(
      'POST',
      '/graphql',
      { authorization: `Bearer ${t.systemKey}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      big,
    );
    expect(chunked.status).toBe(413);
    expect(json(chunked).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    // The service goes on serving.
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('reads a GraphQL body once and answers it, compressed when asked and large enough', async () => {
    const c = await t.customer();
    const query = JSON.stringify({ query: '{ customer { uuid } }' });
    const small = await call('POST', '/graphql', { authorization: `Bearer ${c.key}`, 'content-type': 'application/json', 'accept-encoding': 'gzip' }, query);
    expect(small.status).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(json(small)).toEqual({ data: { customer: { uuid: c.uuid } } });
    const schema = JSON.stringify({ query: '{ __schema { types { name fields { name } } } }' });
    const big = await call('POST', '/graphql', { authorization: `Bearer ${c.key}`, 'content-type': 'application/json', 'accept-encoding': 'gzip' }, schema);
    expect(big.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(big.body).toString()).data.__schema.types.length).toBeGreaterThan(10);
  });

  it('answers a CORS preflight for either door, and lets the configured origin read answers', async () => {
    for (const path of ['/graphql', '/customers/self']) {
      const preflight = await call('OPTIONS', path, { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(preflight.headers['access-control-max-age']).toBe('600');
    }
    const c = await t.customer();
    const read = await call('GET', '/customers/self', { origin: ORIGIN, authorization: `Bearer ${c.key}` });
    expect(read.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(read.headers['access-control-expose-headers']).toMatch(/x-request-id/);
  });

  it('streams a long list, and an event stream, as they are produced', async () => {
    const c = await t.customer();
    const list = await call('GET', '/tenants', { authorization: `Bearer ${t.systemKey}` });
    expect(list.status).toBe(200);
    expect(list.headers['transfer-encoding']).toBe('chunked');
    expect(json(list).some((tenant: { uuid: string }) => tenant.uuid === c.uuid)).toBe(true);

    const events = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/customers/self/events', headers: { authorization: `Bearer ${c.key}`, accept: 'text/event-stream' } }, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('event: customer.updated')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', reject);
      req.end();
      setTimeout(() => void t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { live: true } } }), 100);
    });
    expect(events).toMatch(/data: .*"live":true/);
  });

  it('ends an idle GraphQL subscription when its client goes, freeing its slot', async () => {
    const c = await t.customer();
    const before = t.services.events.hub.streams;
    const body = JSON.stringify({ query: 'subscription { customerChanged { name } }' });
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/graphql',
      headers: { authorization: `Bearer ${c.key}`, accept: 'text/event-stream', 'content-type': 'application/json' },
    });
    const started = new Promise<void>((resolve) => req.on('response', () => resolve()));
    req.on('error', () => {});
    req.end(body);
    await started;
    for (let i = 0; i < 100 && t.services.events.hub.streams === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(t.services.events.hub.streams).toBe(before + 1);
    req.destroy();
    for (let i = 0; i < 100 && t.services.events.hub.streams > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(t.services.events.hub.streams).toBe(before);
  });

  it('answers an unknown path with the error envelope', async () => {
    const res = await call('GET', '/nowhere', { 'x-request-id': 'find-me' });
    expect(res.status).toBe(404);
    expect(json(res)).toMatchObject({ status: false, code: 'NOT_FOUND' });
  });
});
