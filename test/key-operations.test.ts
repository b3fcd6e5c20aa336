import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { insertKey } from '../src/domain/auth/api-keys.js';
import { createServices, type Services } from '../src/boot/services.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';

/**
 * Keys are read, renamed, suspended, resumed and deleted, named by keyId, id or a unique name;
 * customers are deleted by the operator. A second set of services on the same database stands for
 * another process: it hears changes through the change feed (its cache would otherwise keep a key
 * a minute): PostgreSQL's LISTEN/NOTIFY, or on the embedded database, which serves one process, the
 * announcements that process's writes make in it (db/local-feed.ts).
 */
let t: TestApp;
let other: Services;
let otherHttp: TestApp['http'];

beforeAll(async () => {
  t = await createTestApp();
  // Keys live a minute in the other's cache: only the change feed (PostgreSQL's NOTIFY, or the
  // embedded database's in-process announcements) can make it see a change within 1 s.
  other = createServices(t.database, { authCacheTtlMs: 60_000, activityFlushMs: 60_000 });
  otherHttp = httpClient(createApp(other, createLogger('silent'), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: false }));
  for (let i = 0; i < 100 && !other.authenticator.isListening; i++) await new Promise((r) => setTimeout(r, 20));
});
afterAll(async () => {
  await other.activity.stop();
  await t.close();
});

/**
 * Asks the other process until it answers `expected`, for at most `ms`; answers the last status. A
 * request that began before the deadline may end after it on a busy machine, so the last answer is
 * always that of a request begun once `ms` had passed: what "within `ms`" promises.
 */
async function otherSays(key: string, expected: number, ms = 1000): Promise<number> {
  const until = Date.now() + ms;
  const ask = async () => (await otherHttp('GET', '/customers/self', { key })).status;
  while (Date.now() < until) {
    if ((await ask()) === expected) return expected;
    await new Promise((r) => setTimeout(r, 25));
  }
  return ask();
}

async function json(res: Response | Promise<Response>) {
  const r = await res;
  return { status: r.status, body: r.status === 204 ? undefined : ((await r.json()) as any) };
}

describe('a key named by keyId, id or name', () => {
  it('reads one key by each of its names, never with a secret', async () => {
    const c = await t.customer();
    const key = (await json(t.http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'deploy' } }))).body;
    for (const ref of [key.keyId, String(key.id), 'deploy']) {
      const res = await json(t.http('GET', `/customers/self/apikeys/${ref}`, { key: c.key }));
      expect(res.status, ref).toBe(200);
      expect(res.body, ref).toEqual({ ...key, secret: undefined, lastUsedAt: null });
      expect(Object.keys(res.body)).not.toContain('secret');
    }
  });

  it('is 409 for a name two live keys share, and 404 for a key of another customer', async () => {
    const c = await t.customer();
    const d = await t.customer();
    await t.http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'twin' } });
    await t.http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'twin' } });
    const ambiguous = await json(t.http('DELETE', '/customers/self/apikeys/twin', { key: c.key }));
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body).toMatchObject({ status: false, code: 'CONFLICT', message: expect.stringMatching(/2 API keys named "twin"/) });
    expect((await t.database.prisma.apiKey.count({ where: { customerId: c.id, name: 'twin', deletedAt: null } }))).toBe(2);
    expect((await json(t.http('GET', `/customers/self/apikeys/${d.keyId}`, { key: c.key }))).status).toBe(404);
    const dKey = await t.database.prisma.apiKey.findUniqueOrThrow({ where: { keyId: d.keyId } });
    expect((await json(t.http('GET', `/customers/self/apikeys/${dKey.id}`, { key: c.key }))).status).toBe(404);
  });

  it('renames a key; the new name names it', async () => {
    const c = await t.customer();
    const renamed = await json(t.http('PATCH', `/customers/self/apikeys/${c.keyId}`, { key: c.key, body: { name: 'laptop' } }));
    expect(renamed).toMatchObject({ status: 200, body: { keyId: c.keyId, name: 'laptop', active: true } });
    expect((await json(t.http('GET', '/customers/self/keys/laptop', { key: c.key }))).body.keyId).toBe(c.keyId);
    const bad = await json(t.http('PATCH', `/customers/self/apikeys/${c.keyId}`, { key: c.key, body: { name: '' } }));
    expect(bad.status).toBe(400);
    const refused = await json(t.http('PATCH', `/customers/self/apikeys/${c.keyId}`, { key: c.key, body: { type: 'system' } }));
    expect(refused).toMatchObject({ status: 400, body: { message: expect.stringMatching(/unknown field.*type/) } });
  });
});

describe('suspending, resuming and deleting a key', () => {
  it('a suspended key is refused (401) here at once and elsewhere within 1 s; resumed, it works again everywhere', async () => {
    const c = await t.customer();
    const ops = await insertKey(t.database.prisma, { name: 'ops', type: 'customer', customerId: c.id });
    expect(await otherSays(ops.secret, 200, 0)).toBe(200);

    const suspended = await json(t.http('PATCH', '/customers/self/apikeys/ops', { key: c.key, body: { active: false } }));
    expect(suspended).toMatchObject({ status: 200, body: { keyId: ops.keyId, active: false } });
    expect((await t.http('GET', '/customers/self', { key: ops.secret })).status).toBe(401);
    expect(await otherSays(ops.secret, 401)).toBe(401);
    // Still listed, as suspended.
    const listed = (await json(t.http('GET', '/customers/self/apikeys', { key: c.key }))).body;
    expect(listed.find((k: { keyId: string }) => k.keyId === ops.keyId)).toMatchObject({ active: false });

    const resumed = await t.gql(c.key, 'mutation { updateApiKey(key: "ops", input: { active: true }) { keyId active } }');
    expect(resumed.data.updateApiKey).toEqual({ keyId: ops.keyId, active: true });
    expect((await t.http('GET', '/customers/self', { key: ops.secret })).status).toBe(200);
    expect(await otherSays(ops.secret, 200)).toBe(200);
  });

  it('a deleted key never works again, anywhere, and leaves every list; its row stays', async () => {
    const c = await t.customer();
    const ops = await insertKey(t.database.prisma, { name: 'ops', type: 'customer', customerId: c.id });
    expect(await otherSays(ops.secret, 200, 0)).toBe(200);
    const row = await t.database.prisma.apiKey.findUniqueOrThrow({ where: { keyId: ops.keyId } });

    expect((await t.http('DELETE', `/customers/self/apikeys/${row.id}`, { key: c.key })).status).toBe(204);
    expect((await t.http('GET', '/customers/self', { key: ops.secret })).status).toBe(401);
    expect(await otherSays(ops.secret, 401)).toBe(401);
    // Resuming a deleted key is not possible: it is not found any more.
    expect((await t.http('PATCH', `/customers/self/apikeys/${ops.keyId}`, { key: c.key, body: { active: true } })).status).toBe(404);
    expect((await t.http('GET', '/customers/self', { key: ops.secret })).status).toBe(401);

    const rest = (await json(t.http('GET', '/customers/self/apikeys', { key: c.key }))).body.map((k: { keyId: string }) => k.keyId);
    const gql = (await t.gql(c.key, '{ me { apiKeys { keyId } } }')).data.me.apiKeys.map((k: { keyId: string }) => k.keyId);
    expect(rest).toEqual([c.keyId]);
    expect(gql).toEqual([c.keyId]);
    const kept = await t.database.prisma.apiKey.findUniqueOrThrow({ where: { keyId: ops.keyId } });
    expect(kept.deletedAt).toBeInstanceOf(Date);
    expect(kept.secretHash).toBe(row.secretHash);
  });
});

describe('deleting a customer', () => {
  it('is the operator\'s alone: 403 to the customer itself, nothing changed', async () => {
    const c = await t.customer();
    const res = await json(t.http('DELETE', '/customers/self', { key: c.key }));
    expect(res).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const gql = await t.gql(c.key, `mutation { deleteCustomer(customer: "${c.uuid}") { id } }`);
    expect(gql.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).deletedAt).toBeNull();
  });

  it.each(['REST /customers', 'REST /tenants', 'GraphQL'])(
    'through %s: 404 everywhere after, keys 401 here and elsewhere within 1 s, rows kept, name taken',
    async (door) => {
      const c = await t.customer();
      await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 4 } });
      expect(await otherSays(c.key, 200, 0)).toBe(200);

      if (door === 'REST /customers') {
        const res = await t.http('DELETE', `/customers/${encodeURIComponent(c.name)}`, { key: t.systemKey });
        expect(res.status).toBe(204);
        expect(await res.text()).toBe('');
      } else if (door === 'REST /tenants') {
        // 204 with no body, as the platform's PHP libraries require of a delete.
        const res = await json(t.http('DELETE', `/tenants/${c.id}`, { key: t.systemKey }));
        expect(res).toMatchObject({ status: 204, body: undefined });
      } else {
        const res = await t.gql(t.systemKey, `mutation { deleteCustomer(customer: "${c.uuid}") { uuid deletedAt } }`);
        expect(res.data.deleteCustomer.uuid).toBe(c.uuid);
        expect(res.data.deleteCustomer.deletedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      }

      expect((await t.http('GET', '/customers/self', { key: c.key })).status).toBe(401);
      expect(await otherSays(c.key, 401)).toBe(401);
      for (const ref of [c.uuid, String(c.id), encodeURIComponent(c.name)]) {
        for (const prefix of ['/customers', '/tenants']) {
          const res = await json(t.http('GET', `${prefix}/${ref}`, { key: t.systemKey }));
          expect(res.status, `${prefix}/${ref}`).toBe(404);
          expect(res.body.code).toBe('NOT_FOUND');
        }
      }
      const gql = await t.gql(t.systemKey, `{ customer(id: "${c.uuid}") { id } }`);
      expect(gql.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const listed = (await json(t.http('GET', '/customers?limit=500', { key: t.systemKey }))).body.map((x: { id: number }) => x.id);
      expect(listed).not.toContain(c.id);
      expect((await json(t.http('DELETE', `/customers/${c.uuid}`, { key: t.systemKey }))).status).toBe(404);

      // The rows stay; the name stays taken.
      const row = await t.database.prisma.customer.findUniqueOrThrow({ where: { id: c.id } });
      expect(row.deletedAt).toBeInstanceOf(Date);
      expect(await t.database.prisma.setting.count({ where: { customerId: c.id } })).toBe(1);
      expect(await t.database.prisma.apiKey.count({ where: { customerId: c.id } })).toBe(1);
      const again = await json(t.http('POST', '/customers', { key: t.systemKey, body: { name: c.name } }));
      expect(again).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    },
  );
});
