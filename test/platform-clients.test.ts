import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * The platform's two published clients, replayed call by call as ../shared/reference/
 * platform-clients.md records them: the exact methods, paths and bodies (every setting value a
 * string, the command-line client's extra `"self": true`), with the headers they send. Each call
 * is checked as the client checks it (the statuses it accepts, the members it reads), and the
 * database afterwards.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** What both clients send: a bearer key and JSON. */
async function call(key: string, method: string, path: string, body?: unknown) {
  const res = await t.app.fetch(`http://test${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('the command-line client (Node, 2019), always with self', () => {
  /** It treats any status but 200 and 204 as an error and shows the status text instead. */
  const cliAccepts = (status: number) => status === 200 || status === 204;

  it('runs its whole session: tenant, settings with string values, keys by id and by name', async () => {
    const c = await t.customer('Initech');

    const tenant = await call(c.key, 'GET', '/tenants/self');
    expect(cliAccepts(tenant.status)).toBe(true);
    expect(tenant.body).toMatchObject({ name: 'Initech', profile: {} });

    const settings = await call(c.key, 'GET', '/tenants/self/settings');
    expect(cliAccepts(settings.status)).toBe(true);
    expect(settings.body).toEqual({});

    const put = await call(c.key, 'PUT', '/tenants/self/settings/concurrency-limit', { value: '7' });
    expect(cliAccepts(put.status)).toBe(true);
    expect(put.body).toMatchObject({ name: 'concurrency-limit', value: 7, tenantId: c.id, updatedAt: expect.any(String) });
    expect((await t.database.prisma.setting.findFirstOrThrow({ where: { customerId: c.id } })).value).toBe(7);

    const removed = await call(c.key, 'DELETE', '/tenants/self/settings/concurrency-limit');
    expect(cliAccepts(removed.status)).toBe(true);
    expect(removed.body).toEqual({});
    expect(await t.database.prisma.setting.count({ where: { customerId: c.id } })).toBe(0);

    const keys = await call(c.key, 'GET', '/tenants/self/apikeys');
    expect(cliAccepts(keys.status)).toBe(true);
    expect(keys.body.map((k: { keyId: string }) => k.keyId)).toEqual([c.keyId]);

    // One command sends its whole option object; the extra member is ignored, and the secret arrives with a 200.
    const created = await call(c.key, 'POST', '/tenants/self/apikeys', { self: true, name: 'ci' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: 'ci', active: true, tenantId: c.id, secret: expect.stringMatching(/^XI[A-Za-z0-9]{32}$/) });
    expect((await call(created.body.secret, 'GET', '/tenants/self')).status).toBe(200);

    const byId = await call(c.key, 'GET', `/tenants/self/apikeys/${created.body.id}`);
    expect(cliAccepts(byId.status)).toBe(true);
    expect(byId.body).toMatchObject({ keyId: created.body.keyId, name: 'ci' });
    expect(byId.body.secret).toBeUndefined();

    const deletedById = await call(c.key, 'DELETE', `/tenants/self/apikeys/${created.body.id}`);
    expect(cliAccepts(deletedById.status)).toBe(true);
    expect(deletedById.body).toMatchObject({ keyId: created.body.keyId, name: 'ci' });
    expect((await call(created.body.secret, 'GET', '/tenants/self')).status).toBe(401);

    const other = await call(c.key, 'POST', '/tenants/self/apikeys', { self: true, name: 'nightly' });
    const deletedByName = await call(c.key, 'DELETE', '/tenants/self/apikeys/nightly');
    expect(cliAccepts(deletedByName.status)).toBe(true);
    expect(deletedByName.body.keyId).toBe(other.body.keyId);

    const rows = await t.database.prisma.apiKey.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    expect(rows.map((k) => [k.name, k.deletedAt !== null])).toEqual([
      ['test', false],
      ['ci', true],
      ['nightly', true],
    ]);
    expect(rows.some((k) => k.name === 'true' || k.name === 'self')).toBe(false);
  });
});

describe('the PHP library (2023), with keys under /keys', () => {
  it('reads the tenant, patches the profile one member at a time, and manages keys by keyId and id', async () => {
    const c = await t.customer('Hooli');
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: { 'contact-name': 'Gavin' } } });
    await t.services.readCache.sync();

    // It reads the tenant first and fails on anything but a tenant object.
    const tenant = await call(c.key, 'GET', '/tenants/self');
    expect(tenant.status).toBe(200);
    expect(tenant.body).toMatchObject({ name: 'Hooli', profile: { 'contact-name': 'Gavin' }, active: true });

    for (const [patch, profile] of [
      [{ k1: 'v1' }, { 'contact-name': 'Gavin', k1: 'v1' }],
      [{ k2: 'v2' }, { 'contact-name': 'Gavin', k1: 'v1', k2: 'v2' }],
      [{ k1: null }, { 'contact-name': 'Gavin', k2: 'v2' }],
    ] as const) {
      const res = await call(c.key, 'PATCH', '/tenants/self', { profile: patch });
      expect([200, 201]).toContain(res.status);
      expect(res.body.profile).toEqual(profile);
    }
    expect((await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).profile).toEqual({ 'contact-name': 'Gavin', k2: 'v2' });

    // The operator deactivates and reactivates the tenant.
    expect((await call(t.systemKey, 'PATCH', '/tenants/Hooli', { active: false })).body.active).toBe(false);
    expect((await call(c.key, 'GET', '/tenants/self')).status).toBe(403);
    expect((await call(t.systemKey, 'PATCH', '/tenants/Hooli', { active: true })).body.active).toBe(true);

    const list = await call(c.key, 'GET', '/tenants/self/keys');
    expect(list.status).toBe(200);
    expect(list.body[0]).toMatchObject({ keyId: c.keyId, tenantId: c.id });

    const created = await call(c.key, 'POST', '/tenants/self/keys', { name: 'php' });
    expect([200, 201]).toContain(created.status);
    const { keyId, id, secret } = created.body;
    expect(typeof id).toBe('number');
    expect(secret).toMatch(/^XI[A-Za-z0-9]{32}$/);
    const read = await call(c.key, 'GET', `/tenants/self/keys/${keyId}`);
    expect(read.body).toMatchObject({ keyId, id, active: true });
    const deleted = await call(c.key, 'DELETE', `/tenants/self/keys/${keyId}`);
    expect(deleted).toMatchObject({ status: 200, body: { keyId } });

    // A key it has just created, deleted by its numeric id.
    const temporary = await call(c.key, 'POST', '/tenants/self/keys', { name: 'temporary' });
    expect((await call(c.key, 'DELETE', `/tenants/self/keys/${temporary.body.id}`)).status).toBe(200);
    expect((await call(temporary.body.secret, 'GET', '/tenants/self')).status).toBe(401);

    const live = await t.database.prisma.apiKey.findMany({ where: { customerId: c.id, deletedAt: null } });
    expect(live.map((k) => k.keyId)).toEqual([c.keyId]);
  });
});
