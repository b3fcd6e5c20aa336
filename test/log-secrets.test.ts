import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { generateSecret, hashSecret } from '../src/kernel/secrets.js';
import { createServices } from '../src/boot/services.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';

/**
 * Contract section 2: "Secrets never appear in logs". A whole scenario (keys issued and used
 * through both doors, revoked, refused, bad headers with secrets inside, secrets in query
 * strings, variables, setting values and profiles, errors) runs at the default level and at
 * `trace`; no log line may hold an issued secret, its hash, or any Authorization header value sent.
 */
let t: TestApp;
/** The same services and database, logged at `trace`. */
let traced: { http: TestApp['http']; logs: string[]; close(): Promise<void> };

beforeAll(async () => {
  t = await createTestApp();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const services = createServices(t.database, { authCacheTtlMs: 0, activityFlushMs: 60_000 });
  const app = createApp(services, createLogger('trace', sink), { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true });
  traced = {
    logs,
    http: httpClient(app),
    close: () => services.activity.stop(),
  };
});
afterAll(async () => {
  await traced?.close();
  await t?.close();
});

interface Scenario {
  /** Every secret issued or used. */
  secrets: string[];
  /** Every Authorization header value sent. */
  authorizations: string[];
  requests: number;
}

/** Issue, use, revoke and misuse keys through both doors; collect what must never be logged. */
async function scenario(http: TestApp['http'], tag: string): Promise<Scenario> {
  const secrets: string[] = [t.systemKey];
  const authorizations: string[] = [];
  let requests = 0;
  const call = async (method: string, path: string, options: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.auth !== undefined) {
      headers.authorization = options.auth;
      authorizations.push(options.auth);
    }
    requests++;
    const res = await http(method, path, { headers, body: options.body });
    const text = await res.text();
    expect(res.status, `${method} ${path} → ${text}`).toBeLessThan(500);
    return { status: res.status, json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  };
  const system = `Bearer ${t.systemKey}`;
  const gql = (auth: string | undefined, query: string, variables?: Record<string, unknown>) =>
    call('POST', '/graphql', { auth, body: { query, variables } });

  // A customer and its first key, through GraphQL; a second customer and key through REST.
  const created = await gql(
    system,
    `mutation ($name: String!, $c: ID!) { createCustomer(input: { name: $name }) { uuid } createApiKey(customer: $c, name: "first") { secret apiKey { keyId } } }`,
    { name: `acme-${tag}`, c: `acme-${tag}` },
  );
  expect(created.json?.errors, JSON.stringify(created.json)).toBeUndefined();
  const acme = { uuid: created.json.data.createCustomer.uuid, secret: created.json.data.createApiKey.secret as string };
  secrets.push(acme.secret);
  const rest = await call('POST', '/customers', { auth: system, body: { name: `globex-${tag}`, profile: { note: 'plain' } } });
  expect(rest.status).toBe(201);
  const issued = await call('POST', `/customers/${rest.json.uuid}/apikeys`, { auth: system, body: { name: 'rest' } });
  const globex = { uuid: rest.json.uuid as string, secret: issued.json.secret as string, keyId: issued.json.keyId as string };
  secrets.push(globex.secret);

  // The keys at work, through both doors.
  const acmeAuth = `Bearer ${acme.secret}`;
  const globexAuth = `bearer   ${globex.secret}`;
  await call('GET', '/customers/self', { auth: acmeAuth });
  await call('PUT', '/customers/self/concurrency-limit', { auth: globexAuth, body: { limit: 3 } });
  await gql(acmeAuth, `{ me { name apiKeys { keyId } settings { values } } }`);
  await gql(globexAuth, `mutation { setConcurrencyLimit(limit: 4) { id } }`);
  // A key made by a customer key, used, then revoked by its owner, then used again.
  const own = await call('POST', '/customers/self/apikeys', { auth: acmeAuth, body: { name: 'short-lived' } });
  secrets.push(own.json.secret);
  await call('GET', '/customers/self/apikeys', { auth: `Bearer ${own.json.secret}` });
  expect((await call('DELETE', `/customers/self/apikeys/${own.json.keyId}`, { auth: acmeAuth })).status).toBe(204);
  expect((await call('GET', '/customers/self', { auth: `Bearer ${own.json.secret}` })).status).toBe(401);
  const viaGql = await gql(acmeAuth, `mutation { createApiKey(name: "gql") { secret apiKey { keyId } } }`);
  secrets.push(viaGql.json.data.createApiKey.secret);
  await gql(acmeAuth, `mutation ($k: String!) { revokeApiKey(keyId: $k) { active } }`, { k: viaGql.json.data.createApiKey.apiKey.keyId });
  await gql(`Bearer ${viaGql.json.data.createApiKey.secret}`, `{ me { name } }`);

  // Refused: unknown, malformed, other schemes, another customer, operator-only.
  const unknown = generateSecret();
  secrets.push(unknown);
  const basic = Buffer.from(`acme:${acme.secret}`).toString('base64');
  const bad = [
    `Bearer ${unknown}`,
    `Basic ${acme.secret}`,
    `Basic ${basic}`,
    `Token ${globex.secret}`,
    `Bearer ${acme.secret}x`,
    `Bearer ${acme.secret.slice(0, -1)}`,
    `${acme.secret}`,
    `Bearer ${acme.secret} ${globex.secret}`,
    `Bearer hunter2-not-a-key-${tag}`,
    `Digest username="acme", response="${globex.secret}"`,
  ];
  for (const auth of bad) {
    await call('GET', '/customers/self', { auth });
    await gql(auth, `{ me { name } }`);
  }
  await call('GET', `/customers/${globex.uuid}`, { auth: acmeAuth });
  await call('GET', '/customers', { auth: acmeAuth });
  await gql(acmeAuth, `{ customers { edges { node { id } } } }`);

  // Secrets where they do not belong: query strings, path segments, variables, values, profiles, names, request ids.
  await call('GET', `/customers/self?key=${acme.secret}&token=${encodeURIComponent(acmeAuth)}`, { auth: acmeAuth });
  await call('GET', `/customers?after=${acme.secret}`, { auth: system });
  await call('GET', `/customers/${acme.secret}`, { auth: system });
  await call('GET', `/customers/${acme.secret}/apikeys`, { auth: acmeAuth });
  await call('DELETE', `/customers/self/apikeys/${globex.secret}`, { auth: acmeAuth });
  await call('GET', `/nowhere/${acme.secret}`, { auth: acmeAuth });
  await call('GET', `/graphql?query=${encodeURIComponent(`{ customer(id: "${acme.secret}") { id } }`)}`, { auth: system });
  await call('PUT', '/customers/self/settings/concurrency-limit', { auth: acmeAuth, body: { value: acme.secret } });
  await call('POST', '/customers/self/settings', { auth: acmeAuth, body: { name: globex.secret, value: 1 } });
  await call('PATCH', '/customers/self', { auth: acmeAuth, body: { profile: { token: acme.secret, nested: [{ auth: acmeAuth }] } } });
  await call('PATCH', '/customers/self', { auth: acmeAuth, body: { profile: {}, secret: acme.secret } });
  await call('POST', '/customers/self/apikeys', { auth: acmeAuth, body: { name: acme.secret } });
  await call('POST', '/customers', { auth: system, body: { name: globex.secret } });
  await call('PATCH', '/customers/self', { auth: acmeAuth, body: `{"profile": {"token": "${acme.secret}"` });
  await call('PATCH', '/customers/self', { auth: acmeAuth, body: acme.secret, headers: { 'content-type': 'text/plain' } });
  await call('GET', '/customers/self', { auth: acmeAuth, headers: { 'x-request-id': acme.secret, 'x-api-key': acme.secret, cookie: `key=${acme.secret}` } });
  await gql(acmeAuth, `mutation ($v: JSON) { setCustomerSetting(name: "concurrency-limit", value: $v) { id } }`, { v: acme.secret });
  await gql(acmeAuth, `mutation ($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }`, { p: { token: globex.secret } });
  await gql(acmeAuth, `mutation ($c: ID!) { setConcurrencyLimit(customer: $c, limit: 1) { id } }`, { c: acme.secret });
  await gql(acmeAuth, `{ customer(id: "${globex.secret}") { id } }`);
  await gql(acmeAuth, `{ me { ${acme.secret} } }`);
  await gql(acmeAuth, `{ me { name } ${acme.secret}`);
  await gql(system, `mutation ($n: String!) { createCustomer(input: { name: $n }) { id } }`, { n: `${acme.secret}\u0000` });
  await gql(system, `mutation ($c: ID!) { updateCustomer(customer: $c, input: { profile: { k: "${acme.secret}" }, billingPlan: { concurrency: "${globex.secret}" } }) { id } }`, { c: acme.uuid });
  await call('PATCH', `/customers/${globex.uuid}`, { auth: system, body: { profile: { token: `${acme.secret}\u0000` } } });
  await call('PUT', `/customers/${globex.uuid}/settings/${encodeURIComponent(`${acme.secret}\u0000`)}`, { auth: system, body: { value: 1 } });
  await call('DELETE', `/customers/${globex.uuid}/settings/${encodeURIComponent(`${acme.secret}\u0000`)}`, { auth: system });
  await call('GET', `/customers/${encodeURIComponent(`${acme.secret}\u0000`)}`, { auth: system });

  // A deactivated customer's key, then the same customer active again.
  await call('PATCH', `/customers/${globex.uuid}`, { auth: system, body: { active: false } });
  await call('GET', '/customers/self', { auth: globexAuth });
  await gql(globexAuth, `{ me { name } }`);
  await call('PATCH', `/customers/${globex.uuid}`, { auth: system, body: { active: true } });

  return { secrets, authorizations: [...new Set(authorizations)], requests };
}

function expectClean(logs: string[], seen: Scenario, what: string) {
  const text = logs.join('');
  const lines = text.split('\n').filter(Boolean);
  // Not vacuous: one line per request at least, each JSON.
  expect(lines.length, what).toBeGreaterThanOrEqual(seen.requests);
  for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
  for (const secret of seen.secrets) {
    expect(text, `${what}: a secret`).not.toContain(secret);
    expect(text, `${what}: a secret's hash`).not.toContain(hashSecret(secret));
    // Its tail would be enough to try the rest.
    expect(text, `${what}: most of a secret`).not.toContain(secret.slice(4));
  }
  for (const authorization of seen.authorizations) {
    // Every value sent (the short ones too, as a whole: `Bearer hunter2-…`).
    expect(text, `${what}: the Authorization header "${authorization}"`).not.toContain(authorization);
    const credentials = authorization.split(/\s+/).filter((part) => part.length >= 16);
    for (const part of credentials) expect(text, `${what}: part of the Authorization header`).not.toContain(part);
  }
  expect(text, `${what}: something shaped like a secret`).not.toMatch(/XI[A-Za-z0-9]{32}/);
  expect(text.toLowerCase(), `${what}: an authorization field`).not.toContain('"authorization"');
}

describe('no secret reaches the log', () => {
  it('at the default level (info)', async () => {
    const writes: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true));
    let seen: Scenario;
    try {
      t.logs.length = 0;
      seen = await scenario(t.http, 'info');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expectClean(t.logs, seen, 'info log');
    // Nothing else in the process wrote them to stdout or stderr either.
    for (const secret of seen.secrets) expect(writes.join(''), 'stdout/stderr').not.toContain(secret);
  });

  it('at trace level', async () => {
    const seen = await scenario(traced.http, 'trace');
    expectClean(traced.logs, seen, 'trace log');
  });
});

describe('error messages', () => {
  it('do not echo a secret pasted where an identifier belongs', async () => {
    const { createTestApp } = await import('./helpers.js');
    const app = await createTestApp();
    try {
      const c = await app.customer();
      const rest = await app.http('GET', `/customers/${c.key}`, { key: app.systemKey });
      expect(rest.status).toBe(404);
      expect(await rest.text()).not.toContain(c.key);
      const gql = await app.gql(c.key, `mutation { revokeApiKey(keyId: "${c.key}") { keyId } }`);
      expect(gql.status).toBe(404);
      expect(JSON.stringify(gql)).not.toContain(c.key);
    } finally {
      await app.close();
    }
  });
});
