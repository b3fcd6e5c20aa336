import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

/** GraphQL over HTTP as its specification says, checked by the reference audit and by hand. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

async function post(key: string | undefined, query: string, accept?: string) {
  const headers: Record<string, string> = {};
  if (accept) headers.accept = accept;
  const res = await t.http('POST', '/graphql', { key, body: { query }, headers });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}

describe('the graphql-http audit', () => {
  it('passes every MUST and SHOULD with a valid key', async () => {
    const c = await t.customer();
    const audits = serverAudits({
      url: 'http://test/graphql',
      fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${c.key}`);
        return Promise.resolve(t.app.fetch(String(input), { ...init, headers }));
      },
    });
    const failed: string[] = [];
    let checked = 0;
    for (const audit of audits) {
      if (!/^(MUST|SHOULD) /.test(audit.name)) continue;
      checked++;
      const result = await audit.fn();
      if (result.status !== 'ok') failed.push(`${audit.name}: ${result.reason}`);
    }
    expect(checked).toBeGreaterThan(20);
    expect(failed).toEqual([]);
  });
});

describe('partial results', () => {
  it('costs a refused or missing alias that alias only: its error in errors, the others in data', async () => {
    const mine = await t.customer();
    const other = await t.customer();
    for (const accept of [GRAPHQL_RESPONSE, 'application/json', undefined]) {
      const res = await post(
        mine.key,
        `{ a: customer(id: "self") { name } b: customer(id: "${other.uuid}") { name } c: customer(id: "${mine.uuid}") { name } }`,
        accept,
      );
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ a: { name: mine.name }, b: null, c: { name: mine.name } });
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors[0]).toMatchObject({ path: ['b'], extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
    }
    const system = await post(t.systemKey, `{ a: customer(id: "${mine.uuid}") { name } b: customer(id: "nobody-has-this") { name } }`);
    expect(system.status).toBe(200);
    expect(system.body.data).toEqual({ a: { name: mine.name }, b: null });
    expect(system.body.errors[0]).toMatchObject({ path: ['b'], extensions: { code: 'NOT_FOUND', http: { status: 404 } } });
  });
});

describe('status codes by media type', () => {
  it('answers a document that does not validate with 400 under graphql-response+json and 200 under application/json', async () => {
    const c = await t.customer();
    const strict = await post(c.key, '{ customer { noSuchField } }', GRAPHQL_RESPONSE);
    expect(strict.status).toBe(400);
    expect(strict.type).toMatch(/^application\/graphql-response\+json/);
    expect(strict.body.data).toBeUndefined();
    expect(strict.body.errors[0].extensions).toEqual({ code: 'BAD_REQUEST', http: { status: 400 } });

    for (const accept of ['application/json', undefined]) {
      const legacy = await post(c.key, '{ customer { noSuchField } }', accept);
      expect(legacy.status).toBe(200);
      expect(legacy.type).toMatch(/^application\/json/);
      expect(legacy.body.errors[0].extensions).toEqual({ code: 'BAD_REQUEST', http: { status: 400 } });
    }
  });

  it('keeps 401 for a missing key under either media type (the request is not permitted)', async () => {
    for (const accept of [GRAPHQL_RESPONSE, 'application/json']) {
      const res = await post(undefined, '{ me { name } }', accept);
      expect(res.status).toBe(401);
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it("keeps a refused mutation's status when no data is left (data: null)", async () => {
    const c = await t.customer();
    const res = await post(c.key, 'mutation { removeConcurrencyLimit { id } }', GRAPHQL_RESPONSE);
    expect(res.status).toBe(404);
    expect(res.body.data).toBeNull();
    expect(res.body.errors[0].extensions).toEqual({ code: 'NOT_FOUND', http: { status: 404 } });
  });
});
