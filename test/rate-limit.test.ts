import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

/** Per-key rate limiting: 429 with Retry-After on both doors; other tenants and system keys unaffected. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ rateLimit: { perSecond: 0.5, burst: 3 } });
});
afterAll(() => t.close());

describe('rate limiting', () => {
  it('allows the burst, then answers 429 RATE_LIMITED with Retry-After on REST and GraphQL', async () => {
    const greedy = await t.customer();
    const other = await t.customer();
    for (let i = 0; i < 3; i++) expect((await t.http('GET', '/customers/self', { key: greedy.key })).status).toBe(200);

    const rest = await t.http('GET', '/customers/self', { key: greedy.key });
    expect(rest.status).toBe(429);
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await rest.json()).toMatchObject({ status: false, code: 'RATE_LIMITED' });

    const gql = await t.http('POST', '/graphql', { key: greedy.key, body: { query: '{ me { id } }' } });
    expect(gql.status).toBe(429);
    expect(Number(gql.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await gql.json()) as any).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', http: { status: 429 } });

    // Another tenant and the operator are not held back by the greedy one.
    expect((await t.http('GET', '/customers/self', { key: other.key })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await t.http('GET', `/customers/${greedy.uuid}`, { key: t.systemKey })).status).toBe(200);
  });
});
