import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The merge itself (RFC 7396, Appendix A) is checked without a database in test/unit/merge-patch.test.ts.
import { createTestApp, type TestApp } from './helpers.js';
import { APPENDIX_A } from './rfc7396.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const stored = async (id: number) => (await t.database.prisma.customer.findUniqueOrThrow({ where: { id } })).profile;

describe('PATCH of a profile, both dialects', () => {
  // The appendix's cases whose target and patch are objects, as a profile must be.
  const objectCases = APPENDIX_A.filter(([target, patch]) => isObject(target) && isObject(patch));

  it.each(['/customers', '/tenants'])('merges in %s as RFC 7396 says, also sent as application/merge-patch+json', async (prefix) => {
    for (const [i, [target, patch, result]] of objectCases.entries()) {
      const c = await t.customer();
      await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: target as object } });
      await t.services.readCache.sync();
      const type = i % 2 ? 'application/merge-patch+json' : 'application/json';
      const res = await t.http('PATCH', `${prefix}/self`, { key: c.key, body: { profile: patch }, headers: { 'content-type': type } });
      expect(res.status, JSON.stringify(patch)).toBe(200);
      expect(((await res.json()) as { profile: unknown }).profile).toEqual(result);
      expect(await stored(c.id)).toEqual(result);
    }
  });

  it.each([['c'], 'bar', 5, true])('refuses a profile patch that is not an object (%j) with 400, changing nothing', async (patch) => {
    const c = await t.customer();
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: { keep: 1 } } });
    await t.services.readCache.sync();
    for (const prefix of ['/customers', '/tenants']) {
      const res = await t.http('PATCH', `${prefix}/self`, { key: c.key, body: { profile: patch } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('BAD_REQUEST');
    }
    expect(await stored(c.id)).toEqual({ keep: 1 });
  });

  it('refuses other media types with 415', async () => {
    const c = await t.customer();
    const res = await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { a: 1 } }, headers: { 'content-type': 'application/json-patch+json' } });
    expect(res.status).toBe(415);
    expect(await stored(c.id)).toEqual({});
  });

  it('refuses a merge whose result is over the 16 KiB limit, changing nothing', async () => {
    const c = await t.customer();
    const half = 'x'.repeat(9000);
    expect((await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { a: half } } })).status).toBe(200);
    const res = await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { b: half } } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/after the merge.*16384 bytes/);
    expect(await stored(c.id)).toEqual({ a: half });
  });

  it('never loses a member: 50 concurrent one-member patches leave all 50', async () => {
    const c = await t.customer();
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: { kept: true } } });
    await t.services.readCache.sync();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.http('PATCH', i % 2 ? '/tenants/self' : '/customers/self', { key: c.key, body: { profile: { [`m${i}`]: i } } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const profile = (await stored(c.id)) as Record<string, unknown>;
    expect(Object.keys(profile)).toHaveLength(51);
    for (let i = 0; i < 50; i++) expect(profile[`m${i}`]).toBe(i);
    expect(profile.kept).toBe(true);
  });
});

describe('GraphQL', () => {
  it('mergeCustomerProfile merges; updateCustomerProfile replaces', async () => {
    const c = await t.customer();
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: { a: 1, nested: { x: 1, y: 2 } } } });
    await t.services.readCache.sync();
    const merged = await t.gql(c.key, 'mutation($p: JSONObject!) { mergeCustomerProfile(patch: $p) { profile } }', { p: { a: null, nested: { y: null, z: 3 }, b: [1] } });
    expect(merged.data.mergeCustomerProfile.profile).toEqual({ nested: { x: 1, z: 3 }, b: [1] });
    const replaced = await t.gql(c.key, 'mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { profile } }', { p: { only: true } });
    expect(replaced.data.updateCustomerProfile.profile).toEqual({ only: true });
    expect(await stored(c.id)).toEqual({ only: true });
  });
});

function isObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
