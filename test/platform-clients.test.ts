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
    expect(removed).toEqual({ status: 204, body: undefined });
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

    // "Operation completed successfully": the CLI's message for a 204.
    const deletedById = await call(c.key, 'DELETE', `/tenants/self/apikeys/${created.body.id}`);
    expect(deletedById).toEqual({ status: 204, body: undefined });
    expect((await call(created.body.secret, 'GET', '/tenants/self')).status).toBe(401);

    const other = await call(c.key, 'POST', '/tenants/self/apikeys', { self: true, name: 'nightly' });
    const deletedByName = await call(c.key, 'DELETE', '/tenants/self/apikeys/nightly');
    expect(deletedByName).toEqual({ status: 204, body: undefined });
    expect((await call(other.body.secret, 'GET', '/tenants/self')).status).toBe(401);

    const rows = await t.database.prisma.apiKey.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    expect(rows.map((k) => [k.name, k.deletedAt !== null])).toEqual([
      ['test', false],
      ['ci', true],
      ['nightly', true],
    ]);
    expect(rows.some((k) => k.name === 'true' || k.name === 'self')).toBe(false);
  });
});

/** Both PHP libraries count a delete as done only on 204 (their delete() returns false on a 200). */
const phpDeleted = (status: number) => status === 204;

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
    expect(phpDeleted(deleted.status)).toBe(true);

    // A key it has just created, deleted by its numeric id.
    const temporary = await call(c.key, 'POST', '/tenants/self/keys', { name: 'temporary' });
    expect(phpDeleted((await call(c.key, 'DELETE', `/tenants/self/keys/${temporary.body.id}`)).status)).toBe(true);
    expect((await call(temporary.body.secret, 'GET', '/tenants/self')).status).toBe(401);

    const live = await t.database.prisma.apiKey.findMany({ where: { customerId: c.id, deletedAt: null } });
    expect(live.map((k) => k.keyId)).toEqual([c.keyId]);
  });
});

describe('the first PHP library (2019): getSelf() first, tenant updates by PUT', () => {
  /** It counts only 200 as success, except 204 for a delete. */
  const ok = (status: number) => status === 200;
  /** After its first request with a body it keeps sending Content-Type: application/json on bodiless ones. */
  async function send(key: string, method: string, path: string, body?: unknown) {
    const res = await t.app.fetch(`http://test${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  it('learns its tenant from GET /keys/self, then reads, updates and manages keys with the tenant id', async () => {
    const c = await t.customer('Raviga');
    await t.database.prisma.customer.update({ where: { id: c.id }, data: { profile: { 'contact-name': 'Laurie' } } });
    await t.services.readCache.sync();

    // getSelf(): it MUST come first; tenantId is used in every later path, name is kept as the tenant's.
    const self = await send(c.key, 'GET', '/keys/self');
    expect(ok(self.status)).toBe(true);
    expect(self.body).toMatchObject({ tenantId: c.id, name: 'Raviga', keyId: c.keyId });
    expect(self.body.secret).toBeUndefined();
    const { tenantId, name } = self.body;

    expect(await send(c.key, 'GET', `/tenants/${tenantId}`)).toMatchObject({ status: 200, body: { id: tenantId, name } });
    expect(await send(c.key, 'GET', `/tenants/${encodeURIComponent(name)}`)).toMatchObject({ status: 200, body: { id: tenantId } });

    // Updates by PUT, one member at a time; the others survive.
    for (const [ref, patch] of [[tenantId, { k1: 'v1' }], [name, { k2: 'v2' }]] as const) {
      const res = await send(c.key, 'PUT', `/tenants/${encodeURIComponent(String(ref))}`, { profile: patch });
      expect(ok(res.status)).toBe(true);
    }
    const stored = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
    expect(stored.profile).toEqual({ 'contact-name': 'Laurie', k1: 'v1', k2: 'v2' });

    await send(c.key, 'PUT', `/tenants/${tenantId}/settings/concurrency-limit`, { value: '9' });
    expect(await send(c.key, 'GET', `/tenants/${tenantId}/settings/concurrency-limit`)).toMatchObject({ status: 200, body: { name: 'concurrency-limit', value: 9 } });

    expect(await send(c.key, 'GET', `/tenants/${tenantId}/apikeys`)).toMatchObject({ status: 200, body: [{ keyId: c.keyId }] });
    const created = await send(c.key, 'POST', `/tenants/${tenantId}/apikeys`, { name: 'php2019' });
    expect(ok(created.status)).toBe(true);
    expect(created.body).toMatchObject({ name: 'php2019', tenantId, secret: expect.stringMatching(/^XI/) });

    // Its key rename drops the key's id: no server can tell which key it means.
    const rename = await send(c.key, 'PUT', `/tenants/${tenantId}/apikeys`, { name: 'renamed' });
    expect(rename).toMatchObject({ status: 405, body: { status: false, code: 'METHOD_NOT_ALLOWED' } });

    const deleted = await send(c.key, 'DELETE', `/tenants/${tenantId}/apikeys/${created.body.id}`);
    expect(phpDeleted(deleted.status)).toBe(true);
    expect((await send(created.body.secret, 'GET', '/keys/self')).status).toBe(401);

    const rows = await t.database.prisma.apiKey.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    expect(rows.map((k) => [k.name, k.deletedAt !== null])).toEqual([
      ['test', false],
      ['php2019', true],
    ]);
  });

  it('lists and creates tenants with a system key', async () => {
    const self = await send(t.systemKey, 'GET', '/keys/self');
    expect(self).toMatchObject({ status: 200, body: { type: 'system', tenantId: null, name: null } });
    const created = await send(t.systemKey, 'POST', '/tenants', { name: 'Bachmanity', profile: { k: 'v' } });
    expect(created).toMatchObject({ status: 200, body: { name: 'Bachmanity', profile: { k: 'v' } } });
    const list = await send(t.systemKey, 'GET', '/tenants');
    expect(list.status).toBe(200);
    expect(list.body.map((x: { name: string }) => x.name)).toContain('Bachmanity');
  });
});
