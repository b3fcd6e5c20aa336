import { getCORSHeadersByRequestAndOptions } from '@whatwg-node/server';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/kernel/errors.js';
import { corsHook } from '../../src/http/hooks/cors.js';
import { compressionHook } from '../../src/http/hooks/compression.js';
import { requestIdHook } from '../../src/http/hooks/request-id.js';
import { createPipeline, type FrontDoorHook } from '../../src/http/pipeline.js';
import { fromFetch, type HttpRequest } from '../../src/http/request.js';
import type { HttpResponse } from '../../src/http/response.js';

const request = (init: RequestInit & { path?: string } = {}): HttpRequest =>
  fromFetch(new Request(`http://localhost${init.path ?? '/customers'}`, init), { requestId: '', callerId: false, start: performance.now() });

const ok = (): HttpResponse => ({ status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{}' });

/** A hook that writes each stage it runs into `calls`, and may answer or fail where told. */
function recorder(name: string, calls: string[], act: { answer?: boolean; fail?: 'onSend'; replace?: 'sync' | 'async' } = {}): FrontDoorHook {
  return {
    name,
    async around(req, next) {
      calls.push(`${name}.around`);
      const response = await next(req);
      calls.push(`${name}.around done`);
      return response;
    },
    onRequest() {
      calls.push(`${name}.onRequest`);
      return act.answer ? { status: 204, headers: { from: name } } : undefined;
    },
    onSend(_req, response) {
      calls.push(`${name}.onSend`);
      if (act.fail === 'onSend') throw new Error('boom');
      if (act.replace === 'sync') return { ...response, status: 299 };
      if (act.replace === 'async') return Promise.resolve({ ...response, status: 298 });
      return undefined;
    },
    onResponse(_req, response, ms) {
      calls.push(`${name}.onResponse ${response.status}`);
      expect(ms).toBeGreaterThanOrEqual(0);
    },
  };
}

const quiet = { error: () => {} };

describe('the front door pipeline', () => {
  it('runs around → onRequest → handler → onSend → onResponse, each stage in the hooks’ order', async () => {
    const calls: string[] = [];
    const handle = createPipeline([recorder('a', calls), recorder('b', calls)], async () => (calls.push('handler'), ok()), quiet);
    const response = await handle(request());
    expect(response.status).toBe(200);
    expect(calls).toEqual([
      'a.around',
      'b.around',
      'a.onRequest',
      'b.onRequest',
      'handler',
      'a.onSend',
      'b.onSend',
      'a.onResponse 200',
      'b.onResponse 200',
      'b.around done',
      'a.around done',
    ]);
  });

  it('an answer from onRequest skips the handler and the later hooks’ onRequest, and still goes through onSend', async () => {
    const calls: string[] = [];
    const handle = createPipeline([recorder('a', calls, { answer: true }), recorder('b', calls)], async () => (calls.push('handler'), ok()), quiet);
    const response = await handle(request());
    expect(response).toMatchObject({ status: 204, headers: { from: 'a' } });
    expect(calls.filter((c) => !c.includes('around'))).toEqual(['a.onRequest', 'a.onSend', 'b.onSend', 'a.onResponse 204', 'b.onResponse 204']);
  });

  it('onSend may replace the answer, at once or with a promise', async () => {
    const calls: string[] = [];
    const sync = createPipeline([recorder('a', calls, { replace: 'sync' })], async () => ok(), quiet);
    expect((await sync(request())).status).toBe(299);
    const later = createPipeline([recorder('a', calls, { replace: 'async' }), recorder('b', calls)], async () => ok(), quiet);
    expect((await later(request())).status).toBe(298);
    expect(calls.filter((c) => c.includes('onResponse')).at(-1)).toBe('b.onResponse 298');
  });

  it('a failure of the handler or of onSend is the error envelope, logged, which skips onSend and goes through onResponse', async () => {
    for (const where of ['handler', 'onSend'] as const) {
      const calls: string[] = [];
      const logged: unknown[] = [];
      const handle = createPipeline(
        [recorder('a', calls, where === 'onSend' ? { fail: 'onSend' } : {}), recorder('b', calls)],
        async () => {
          calls.push('handler');
          if (where === 'handler') throw new AppError('UNAVAILABLE', 'away');
          return ok();
        },
        { error: (...args: unknown[]) => void logged.push(args) },
      );
      const response = await handle(request());
      expect(logged).toHaveLength(1);
      const status = where === 'handler' ? 503 : 500;
      expect(response.status).toBe(status);
      expect(JSON.parse(response.body as string)).toMatchObject({ status: false });
      expect(calls.filter((c) => !c.includes('around'))).toEqual([
        'a.onRequest',
        'b.onRequest',
        'handler',
        ...(where === 'onSend' ? ['a.onSend'] : []),
        `a.onResponse ${status}`,
        `b.onResponse ${status}`,
      ]);
    }
  });
});

describe('the front door hooks', () => {
  it('request-id: the caller’s sane X-Request-Id, else a new one, on every answer', async () => {
    const handle = createPipeline([requestIdHook], async () => ok(), quiet);
    const mine = request({ headers: { 'x-request-id': 'abc-123' } });
    expect((await handle(mine)).headers['x-request-id']).toBe('abc-123');
    expect(mine.info).toMatchObject({ requestId: 'abc-123', callerId: true });
    const insane = request({ headers: { 'x-request-id': 'a b' } });
    expect((await handle(insane)).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(insane.info.callerId).toBe(false);
  });

  it('cors: none without origins; a preflight answered 204; the headers @whatwg-node/server computes, in its order', async () => {
    expect(corsHook([], ['authorization'])).toBeUndefined();
    const exposedHeaders = ['x-request-id', 'x-modified-at', 'retry-after', 'link', 'location', 'traceresponse'];
    const configs = [
      { origins: ['https://a.example'], allowed: ['authorization', 'content-type'] },
      { origins: ['https://a.example', 'https://b.example'], allowed: ['authorization'] },
      { origins: ['*'], allowed: ['authorization'] },
      { origins: ['https://a.example', 'https://b.example'], allowed: [] },
    ];
    const requests: RequestInit[] = [
      {},
      { headers: { origin: 'https://a.example' } },
      { headers: { origin: 'https://b.example' } },
      { headers: { origin: 'https://c.example' } },
      {
        method: 'OPTIONS',
        headers: { origin: 'https://b.example', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, x-thing' },
      },
      { method: 'OPTIONS', headers: { origin: 'https://c.example', 'access-control-request-headers': 'x-thing' } },
    ];
    for (const { origins, allowed } of configs) {
      const hook = corsHook(origins, allowed)!;
      const handle = createPipeline([hook], async () => ({ status: 200, headers: { 'x-door': '1' } }), quiet);
      for (const init of requests) {
        const response = await handle(request(init));
        const expected = getCORSHeadersByRequestAndOptions(new Request('http://localhost/customers', init), {
          origin: origins,
          credentials: false,
          allowedHeaders: allowed,
          maxAge: 600,
          exposedHeaders,
        });
        const lower = Object.fromEntries(Object.entries(expected ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
        const base = init.method === 'OPTIONS' ? { 'content-length': '0' } : { 'x-door': '1' };
        expect(response.status).toBe(init.method === 'OPTIONS' ? 204 : 200);
        expect(Object.entries(response.headers)).toEqual(Object.entries({ ...base, ...lower }));
      }
    }
  });

  it('compression: br or gzip above 1 KiB of compressible text, never a streamed answer; Vary on what could be compressed', async () => {
    const handle = (response: HttpResponse, acceptEncoding = 'gzip, br') =>
      createPipeline([compressionHook()], async () => response, quiet)(request({ headers: { 'accept-encoding': acceptEncoding } }));
    const big = 'x'.repeat(2048);
    const json = 'application/json; charset=utf-8';
    const br = await handle({ status: 200, headers: { 'content-type': json, etag: '"v1"' }, body: big });
    expect(br.headers).toMatchObject({ vary: 'Accept-Encoding', 'content-encoding': 'br', etag: '"v1-br"' });
    expect((br.body as Buffer).byteLength).toBeLessThan(100);
    const gzip = await handle({ status: 200, headers: { 'content-type': json }, body: big }, 'br;q=0, gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    const small = await handle({ status: 200, headers: { 'content-type': json }, body: '{}' });
    expect(small.headers).toEqual({ 'content-type': json, vary: 'Accept-Encoding' });
    const streamed = await handle({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: new ReadableStream() });
    expect(streamed.headers).toEqual({ 'content-type': 'text/event-stream' });
    const image = await handle({ status: 200, headers: { 'content-type': 'image/png' }, body: big });
    expect(image.headers).toEqual({ 'content-type': 'image/png' });
  });
});
