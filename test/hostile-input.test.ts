import { getIntrospectionQuery, Lexer, Source, TokenKind } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/boot/app.js';
import { loadConfig } from '../src/boot/config.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * Hostile and broken input through both doors: operation limits, body size, JSON nesting, NUL and
 * other text PostgreSQL refuses, bytes that are not UTF-8, long names, out-of-range numbers,
 * duplicated keys and wrong media types. Every answer is a 4xx in the contract's shape; none is a
 * 500 (the log is checked after each test for "unexpected error").
 */
let t: TestApp;
let owner: Awaited<ReturnType<TestApp['customer']>>;
beforeAll(async () => {
  t = await createTestApp();
  owner = await t.customer();
});
afterAll(() => t.close());
afterEach(() => {
  expect(t.logs.filter((line) => line.includes('unexpected error'))).toEqual([]);
});

const KIB = 1024;

/** A REST error in the contract's envelope. */
async function expectRestError(res: Response | Promise<Response>, status: number, code: string, message?: RegExp) {
  const response = await res;
  const body = (await response.json()) as { status: boolean; code: string; message: string };
  expect({ status: response.status, body }).toMatchObject({ status, body: { status: false, code } });
  if (message) expect(body.message).toMatch(message);
  return body;
}

/** A GraphQL error in the contract's shape: the status, and extensions with the code and status, nothing else. */
async function expectGqlError(res: Response | Promise<Response>, status: number, code: string, message?: RegExp) {
  const response = await res;
  const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions: Record<string, unknown> }[] };
  // A refused nullable field (a customer lookup) is a partial result: 200, the error keeps its status.
  expect(response.status).toBe(body.data ? 200 : status);
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const error of body.errors!) {
    expect(error.extensions).toEqual({ code, http: { status } });
    expect(error.message).not.toMatch(/Syntax Error: .*(limit|exceeded)/);
  }
  if (message) expect(body.errors!.map((e) => e.message).join('\n')).toMatch(message);
  return body;
}

/** A POST to /graphql with a raw body. */
function postGraphql(app: App, body: BodyInit, contentType: string | null = 'application/json', key = owner.key) {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, accept: 'application/graphql-response+json' };
  if (contentType) headers['content-type'] = contentType;
  return Promise.resolve(app.fetch('http://test/graphql', { method: 'POST', headers, body }));
}

const gqlBody = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });

/** A body with no Content-Length: a stream, as a chunked upload arrives. */
function streamed(text: string | Uint8Array, chunk = 4 * KIB): ReadableStream<Uint8Array> {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, (offset += chunk)));
    },
  });
}

function fetchStreamed(app: App, method: string, path: string, body: ReadableStream<Uint8Array>, key = owner.key) {
  return Promise.resolve(
    app.fetch(
      new Request(`http://test${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit),
    ),
  );
}

/** `n` levels of objects: {"a":{"a":…1…}}, written out (JSON.stringify itself overflows at this depth). */
const nestedObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const nestedArrays = (n: number) => '['.repeat(n) + '1' + ']'.repeat(n);

function countTokens(document: string): number {
  const lexer = new Lexer(new Source(document));
  let n = 0;
  for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) n++;
  return n;
}

async function profileOf(id: number) {
  return (await t.database.prisma.customer.findUniqueOrThrow({ where: { id } })).profile;
}

describe('GraphQL operation limits (graphql-armor)', () => {
  it("lets GraphiQL's full introspection query through", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const res = await t.gql(owner.key, query);
    expect(res.errors).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.data.__schema.types.map((type: { name: string }) => type.name)).toContain('Customer');
  });

  it('lets 50 aliased customer lookups by uuid, id and name through (the benchmark)', async () => {
    const customers = await Promise.all(Array.from({ length: 50 }, () => t.customer()));
    const query = `{ ${customers
      .map((c, i) => `c${i}: customer(id: "${[c.uuid, String(c.id), c.name][i % 3]}") { uuid name settings { concurrencyLimit } }`)
      .join(' ')} }`;
    const res = await t.gql(t.systemKey, query);
    expect(res.errors).toBeUndefined();
    expect(Object.values(res.data).map((c: any) => c.uuid)).toEqual(customers.map((c) => c.uuid));
  });

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH (10) with 400, and takes one at the limit', async () => {
    // Inline fragments count as levels, so a valid query can be as deep as wanted.
    const nested = (levels: number) => `{ me { ${'... on Customer { '.repeat(levels)} name ${'} '.repeat(levels)} } }`;
    expect((await t.gql(owner.key, nested(8))).data.me.name).toBe(owner.name);
    await expectGqlError(postGraphql(t.app, gqlBody(nested(9))), 400, 'BAD_REQUEST', /^Query depth limit of 10 exceeded, found 11\.$/);
  });

  it('refuses more than GRAPHQL_MAX_ALIASES (100) aliases with 400', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    expect((await t.gql(owner.key, aliases(100))).errors).toBeUndefined();
    await expectGqlError(postGraphql(t.app, gqlBody(aliases(101))), 400, 'BAD_REQUEST', /^Aliases limit of 100 exceeded, found 101\.$/);
  });

  it('refuses more than GRAPHQL_MAX_DIRECTIVES (50) directives with 400', async () => {
    const directives = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me @include(if: true) { id }`).join(' ')} }`;
    expect((await t.gql(owner.key, directives(50))).errors).toBeUndefined();
    await expectGqlError(postGraphql(t.app, gqlBody(directives(51))), 400, 'BAD_REQUEST', /^Directives limit of 50 exceeded, found 51\.$/);
  });

  it('refuses a document of more than GRAPHQL_MAX_TOKENS (5000) tokens with 400', async () => {
    const c = await t.customer();
    const base = 'mutation { updateCustomerProfile(profile: {list: []}) { id } }';
    const tokens = (n: number) => base.replace('[]', `[${' 1'.repeat(n - countTokens(base))}]`);
    expect(countTokens(tokens(5000))).toBe(5000);
    expect((await t.gql(c.key, tokens(5000))).errors).toBeUndefined();
    await expectGqlError(postGraphql(t.app, gqlBody(tokens(5001)), 'application/json', c.key), 400, 'BAD_REQUEST', /^Token limit of 5000 exceeded\.$/);
  });

  it('refuses an operation costing more than GRAPHQL_MAX_COST (50000) with 400: one full page of customers, not two', async () => {
    const page = (alias: string) =>
      `${alias}: customers(first: 500) { edges { node { id uuid name active createdAt modifiedAt lastActivity profile billingPlan settings { values } } } }`;
    const one = await t.gql(t.systemKey, `{ ${page('a')} }`);
    expect(one.errors).toBeUndefined();
    await expectGqlError(
      postGraphql(t.app, gqlBody(`{ ${page('a')} ${page('b')} }`), 'application/json', t.systemKey),
      400,
      'BAD_REQUEST',
      /^Query Cost limit of 50000 exceeded, found \d+/,
    );
  });

  it('answers 400, not a stack overflow, for brackets nested thousands deep', async () => {
    const literal = `mutation { updateCustomerProfile(profile: ${'{a:'.repeat(3000)}1${'}'.repeat(3000)}) { id } }`;
    await expectGqlError(postGraphql(t.app, gqlBody(literal)), 400, 'BAD_REQUEST', /Brackets may nest at most \d+ levels/);
    const selections = `{ ${'me {'.repeat(2400)} id ${'}'.repeat(2400)} }`;
    await expectGqlError(postGraphql(t.app, gqlBody(selections)), 400, 'BAD_REQUEST', /Brackets may nest/);
    const list = `{ customer(id: ${'['.repeat(2400)}"x"${']'.repeat(2400)}) { id } }`;
    await expectGqlError(postGraphql(t.app, gqlBody(list)), 400, 'BAD_REQUEST', /Brackets may nest/);
  });

  it('takes its limits from the configuration (env → config.ts → createApp), and hides suggestions when introspection is off', async () => {
    const config = loadConfig({
      GRAPHQL_MAX_DEPTH: '3',
      GRAPHQL_MAX_ALIASES: '2',
      GRAPHQL_MAX_DIRECTIVES: '1',
      GRAPHQL_MAX_TOKENS: '100',
      GRAPHQL_MAX_COST: '10',
      MAX_BODY_BYTES: '2048',
      GRAPHQL_INTROSPECTION: 'off',
    });
    expect(config).toMatchObject({ GRAPHQL_MAX_DEPTH: 3, GRAPHQL_MAX_ALIASES: 2, MAX_BODY_BYTES: 2048 });
    const strict = createApp(t.services, createLogger('silent'), config);
    const expect400 = (query: string, message: RegExp) => expectGqlError(postGraphql(strict, gqlBody(query)), 400, 'BAD_REQUEST', message);
    await expect400('{ me { ... on Customer { ... on Customer { name } } } }', /depth limit of 3/);
    await expect400('{ a: me { id } b: me { id } c: me { id } }', /Aliases limit of 2/);
    await expect400('{ me { id @include(if: true) name @skip(if: false) } }', /Directives limit of 1/);
    await expect400(`{ me { ${'id '.repeat(100)}} }`, /Token limit of 100/);
    await expect400('{ me { id name uuid active createdAt modifiedAt profile billingPlan settings { values } } }', /Cost limit of 10/);
    // "Did you mean" would reveal field names that introspection no longer does.
    const suggestion = await expect400('{ me { nam } }', /Cannot query field "nam"/);
    expect(JSON.stringify(suggestion)).not.toContain('Did you mean');
    await expectGqlError(postGraphql(strict, gqlBody('{ me { id } }', { pad: 'x'.repeat(2100) })), 413, 'PAYLOAD_TOO_LARGE', /at most 2048 bytes/);
    await expectRestError(
      strict.fetch('http://test/customers/self', {
        method: 'PATCH',
        headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ profile: { pad: 'x'.repeat(2100) } }),
      }),
      413,
      'PAYLOAD_TOO_LARGE',
      /at most 2048 bytes/,
    );
    // With the default app, field suggestions help the developer in GraphiQL.
    const helpful = await t.gql(owner.key, '{ me { nam } }');
    expect(helpful.errors?.[0]?.message).toContain('Did you mean "name"?');
  });

  it('refuses a limit configured out of range, naming the variable', () => {
    expect(() => loadConfig({ GRAPHQL_MAX_DEPTH: '0' })).toThrow(/GRAPHQL_MAX_DEPTH/);
    expect(() => loadConfig({ GRAPHQL_MAX_ALIASES: 'many' })).toThrow(/GRAPHQL_MAX_ALIASES/);
    expect(() => loadConfig({ MAX_BODY_BYTES: '10' })).toThrow(/MAX_BODY_BYTES/);
  });
});

describe('request size (MAX_BODY_BYTES, 64 KiB)', () => {
  const big = JSON.stringify({ profile: { pad: 'x'.repeat(65 * KIB) } });

  it('refuses a larger REST body with 413, by Content-Length and by counting a streamed one', async () => {
    const declared = await t.app.fetch('http://test/customers/self', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', 'content-length': String(big.length) },
      body: big,
    });
    await expectRestError(declared, 413, 'PAYLOAD_TOO_LARGE', /at most 65536 bytes \(64 KiB\)/);
    await expectRestError(fetchStreamed(t.app, 'PATCH', '/customers/self', streamed(big)), 413, 'PAYLOAD_TOO_LARGE');
    expect(await profileOf(owner.id)).toEqual({});
  });

  it('refuses a larger GraphQL body with 413, by Content-Length and by counting a streamed one', async () => {
    const body = gqlBody('mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }', { p: { pad: 'x'.repeat(65 * KIB) } });
    const declared = await t.app.fetch('http://test/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    });
    await expectGqlError(declared, 413, 'PAYLOAD_TOO_LARGE', /at most 65536 bytes/);
    await expectGqlError(fetchStreamed(t.app, 'POST', '/graphql', streamed(body)), 413, 'PAYLOAD_TOO_LARGE');
    // A body just under the limit is read as usual.
    const fits = await postGraphql(t.app, JSON.stringify({ query: '{ me { id } }', extensions: { pad: 'x'.repeat(63 * KIB) } }));
    expect(fits.status).toBe(200);
    expect(await profileOf(owner.id)).toEqual({});
  });
});

describe('JSON nesting (at most 32 levels in stored JSON)', () => {
  it('refuses a profile nested 10,000 levels with 400 on both doors, and a billing plan and setting value too', async () => {
    const deep = nestedObjects(10_000);
    await expectRestError(
      t.http('PATCH', '/customers/self', { key: owner.key, body: `{"profile":${deep}}` }),
      400,
      'BAD_REQUEST',
      /^profile: may nest objects and arrays at most 32 levels deep$/,
    );
    const mutation = 'mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }';
    await expectGqlError(
      postGraphql(t.app, `{"query":${JSON.stringify(mutation)},"variables":{"p":${deep}}}`),
      400,
      'BAD_REQUEST',
      /^profile: may nest objects and arrays at most 32 levels deep$/,
    );
    await expectRestError(
      t.http('POST', '/customers', { key: t.systemKey, body: `{"name":"deep-plan","billingPlan":${deep}}` }),
      400,
      'BAD_REQUEST',
      /^billingPlan: may nest/,
    );
    await expectRestError(
      t.http('PUT', '/customers/self/settings/concurrency-limit', { key: owner.key, body: `{"value":${nestedArrays(10_000)}}` }),
      400,
      'BAD_REQUEST',
      /^value: may nest/,
    );
    await expectRestError(
      t.http('POST', '/customers/self/settings', { key: owner.key, body: `{"name":"concurrency-limit","value":${nestedArrays(10_000)}}` }),
      400,
      'BAD_REQUEST',
      /^value: may nest/,
    );
    const setting = 'mutation($v: JSON) { setCustomerSetting(name: "concurrency-limit", value: $v) { id } }';
    await expectGqlError(
      postGraphql(t.app, `{"query":${JSON.stringify(setting)},"variables":{"v":${nestedArrays(10_000)}}}`),
      400,
      'BAD_REQUEST',
      /^Invalid value for setting "concurrency-limit": may nest objects and arrays at most 32 levels deep$/,
    );
    expect(await profileOf(owner.id)).toEqual({});
    expect(await t.database.prisma.customer.count({ where: { name: 'deep-plan' } })).toBe(0);
  });

  it('stores a profile 32 levels deep and refuses one of 33', async () => {
    const c = await t.customer();
    const ok = await t.http('PATCH', '/customers/self', { key: c.key, body: `{"profile":${nestedObjects(32)}}` });
    expect(ok.status).toBe(200);
    await expectRestError(t.http('PATCH', '/customers/self', { key: c.key, body: `{"profile":${nestedObjects(33)}}` }), 400, 'BAD_REQUEST');
    const listDeep = await t.gql(c.key, 'mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }', {
      p: { list: JSON.parse(nestedArrays(32)) },
    });
    expect(listDeep.errors?.[0]?.message).toMatch(/at most 32 levels/);
  });
});

describe('text PostgreSQL refuses: NUL (and unpaired surrogates)', () => {
  const NUL = '\u0000';
  const nulMessage = /NUL character \(\\u0000\)/;

  it('refuses NUL in profile values and keys with 400 on both doors', async () => {
    for (const profile of [{ contact: `Ada${NUL}` }, { [`contact${NUL}`]: 'Ada' }, { nested: [{ deeper: NUL }] }]) {
      await expectRestError(t.http('PATCH', '/customers/self', { key: owner.key, body: { profile } }), 400, 'BAD_REQUEST', nulMessage);
      await expectGqlError(
        postGraphql(t.app, gqlBody('mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }', { p: profile })),
        400,
        'BAD_REQUEST',
        nulMessage,
      );
    }
    // In a GraphQL literal as well.
    await expectGqlError(
      postGraphql(t.app, gqlBody('mutation { updateCustomerProfile(profile: {a: "x\\u0000y"}) { id } }')),
      400,
      'BAD_REQUEST',
      nulMessage,
    );
    expect(await profileOf(owner.id)).toEqual({});
  });

  it('refuses NUL in customer names, key names, setting names and setting values with 400', async () => {
    await expectRestError(t.http('POST', '/customers', { key: t.systemKey, body: { name: `Acme${NUL}` } }), 400, 'BAD_REQUEST', /name/);
    await expectGqlError(
      postGraphql(t.app, gqlBody('mutation($n: String!) { createCustomer(input: {name: $n}) { id } }', { n: `Acme${NUL}` }), 'application/json', t.systemKey),
      400,
      'BAD_REQUEST',
      /name/,
    );
    await expectRestError(t.http('POST', '/customers/self/apikeys', { key: owner.key, body: { name: `ci${NUL}` } }), 400, 'BAD_REQUEST', /name/);
    await expectGqlError(postGraphql(t.app, gqlBody('mutation($n: String!) { createApiKey(name: $n) { secret } }', { n: `ci${NUL}` })), 400, 'BAD_REQUEST', /name/);
    await expectRestError(t.http('PUT', '/customers/self/settings/a%00b', { key: owner.key, body: { value: 1 } }), 400, 'BAD_REQUEST', /Unknown setting/);
    await expectRestError(t.http('POST', '/customers/self/settings', { key: owner.key, body: { name: `concurrency-limit${NUL}`, value: 1 } }), 400, 'BAD_REQUEST', nulMessage);
    await expectRestError(t.http('PUT', '/customers/self/settings/concurrency-limit', { key: owner.key, body: { value: NUL } }), 400, 'BAD_REQUEST', nulMessage);
    await expectGqlError(
      postGraphql(t.app, gqlBody('mutation($v: JSON) { setCustomerSetting(name: "concurrency-limit", value: $v) { id } }', { v: { [NUL]: NUL } })),
      400,
      'BAD_REQUEST',
      /^Invalid value for setting "concurrency-limit": keys may not contain the NUL character/,
    );
    await expectGqlError(postGraphql(t.app, gqlBody('mutation($n: String!) { setCustomerSetting(name: $n, value: 1) { id } }', { n: NUL })), 400, 'BAD_REQUEST', /Unknown setting/);
    // An unknown field name with NUL in a REST body.
    await expectRestError(t.http('PATCH', '/customers/self', { key: owner.key, body: { [`profile${NUL}`]: {} } }), 400, 'BAD_REQUEST', nulMessage);
    expect(await t.database.prisma.apiKey.count({ where: { customerId: owner.id } })).toBe(1);
  });

  it('answers 404 for lookups by a name with NUL, which nothing can have (as it does for any unknown name)', async () => {
    await expectRestError(t.http('GET', '/customers/Acme%00Corp', { key: t.systemKey }), 404, 'NOT_FOUND');
    await expectGqlError(postGraphql(t.app, gqlBody('query($id: ID!) { customer(id: $id) { id } }', { id: `Acme${NUL}` }), 'application/json', t.systemKey), 404, 'NOT_FOUND');
    // A customer key naming it gets the same 403 as for any other customer.
    await expectRestError(t.http('GET', '/customers/Acme%00Corp', { key: owner.key }), 403, 'FORBIDDEN');
    await expectRestError(t.http('DELETE', '/customers/self/settings/a%00b', { key: owner.key }), 404, 'NOT_FOUND');
    await expectGqlError(postGraphql(t.app, gqlBody('mutation($n: String!) { removeCustomerSetting(name: $n) { id } }', { n: NUL })), 404, 'NOT_FOUND');
    await expectRestError(t.http('DELETE', '/customers/self/apikeys/key_%00', { key: owner.key }), 404, 'NOT_FOUND');
    await expectGqlError(postGraphql(t.app, gqlBody('mutation($k: String!) { revokeApiKey(keyId: $k) { id } }', { k: `key_${NUL}` })), 404, 'NOT_FOUND');
  });

  it('refuses unpaired surrogates (not Unicode; jsonb refuses them) with 400', async () => {
    await expectRestError(
      t.http('PATCH', '/customers/self', { key: owner.key, body: '{"profile":{"a":"\\ud800"}}' }),
      400,
      'BAD_REQUEST',
      /valid Unicode/,
    );
    await expectGqlError(
      postGraphql(t.app, '{"query":"mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }","variables":{"p":{"\\udc00":1}}}'),
      400,
      'BAD_REQUEST',
      /valid Unicode/,
    );
  });
});

describe('bytes that are not UTF-8', () => {
  const bytes = (before: string, after: string) =>
    new Uint8Array([...new TextEncoder().encode(before), 0xff, 0xfe, 0xc3, ...new TextEncoder().encode(after)]);

  it('refuses them with 400 on both doors (never replaced silently)', async () => {
    await expectRestError(
      t.app.fetch('http://test/customers/self', {
        method: 'PATCH',
        headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' },
        body: bytes('{"profile":{"a":"', '"}}'),
      }),
      400,
      'BAD_REQUEST',
      /not valid UTF-8/,
    );
    const mutation = 'mutation($p: JSONObject!) { updateCustomerProfile(profile: $p) { id } }';
    await expectGqlError(
      postGraphql(t.app, bytes(`{"query":${JSON.stringify(mutation)},"variables":{"p":{"a":"`, '"}}}')),
      400,
      'BAD_REQUEST',
      /not valid UTF-8/,
    );
    await expectGqlError(postGraphql(t.app, bytes('{ me { name ', '} }'), 'application/graphql'), 400, 'BAD_REQUEST', /not valid UTF-8/);
    await expectRestError(t.http('GET', '/customers/%FF%FE', { key: t.systemKey }), 400, 'BAD_REQUEST', /percent-encoded UTF-8/);
    expect(await profileOf(owner.id)).toEqual({});
  });
});

describe('long names', () => {
  it('refuses a customer name over 128 characters with 400 on both doors, and takes 128', async () => {
    const long = 'n'.repeat(129);
    await expectRestError(t.http('POST', '/customers', { key: t.systemKey, body: { name: long } }), 400, 'BAD_REQUEST', /name must be 1 to 128 characters/);
    await expectGqlError(
      postGraphql(t.app, gqlBody('mutation($n: String!) { createCustomer(input: {name: $n}) { id } }', { n: long }), 'application/json', t.systemKey),
      400,
      'BAD_REQUEST',
      /name must be 1 to 128 characters/,
    );
    const exact = await t.http('POST', '/customers', { key: t.systemKey, body: { name: 'm'.repeat(128) } });
    expect(exact.status).toBe(201);
    // Looking up a name no customer can have is a plain 404.
    await expectRestError(t.http('GET', `/customers/${'m'.repeat(5000)}`, { key: t.systemKey }), 404, 'NOT_FOUND');
  });

  it('refuses a key name over 128 characters with 400 on both doors', async () => {
    await expectRestError(t.http('POST', '/customers/self/apikeys', { key: owner.key, body: { name: 'k'.repeat(129) } }), 400, 'BAD_REQUEST', /name/);
    await expectGqlError(postGraphql(t.app, gqlBody('mutation($n: String!) { createApiKey(name: $n) { secret } }', { n: 'k'.repeat(129) })), 400, 'BAD_REQUEST');
  });
});

describe('numbers outside the range of `limit`', () => {
  const BAD = ['-1', '1e400', '"5x"', '5.5', 'null', '1000001', 'true'];
  const NAMES_SETTING = /concurrency-limit.*an integer from 0 to 1000000/;

  it('refuses each with a 400 naming the setting on every REST route that writes it', async () => {
    for (const raw of BAD) {
      for (const [method, path, body] of [
        ['PUT', '/customers/self/concurrency-limit', `{"limit": ${raw}}`],
        ['PUT', '/customers/self/concurrency-limit', `{"value": ${raw}}`],
        ['PUT', '/customers/self/settings/concurrency-limit', `{"value": ${raw}}`],
        ['POST', '/customers/self/settings', `{"name": "concurrency-limit", "value": ${raw}}`],
      ] as const) {
        await expectRestError(t.http(method, path, { key: owner.key, body }), 400, 'BAD_REQUEST', NAMES_SETTING);
      }
    }
    expect(await t.database.prisma.setting.count({ where: { customerId: owner.id } })).toBe(0);
  });

  it('refuses each with 400 in GraphQL: the setting named for a JSON value, GraphQL\'s type error for an Int! argument', async () => {
    for (const raw of BAD) {
      const setting = 'mutation($v: JSON) { setCustomerSetting(name: "concurrency-limit", value: $v) { id } }';
      await expectGqlError(postGraphql(t.app, `{"query":${JSON.stringify(setting)},"variables":{"v":${raw}}}`), 400, 'BAD_REQUEST', NAMES_SETTING);
      const typed = 'mutation($l: Int!) { setConcurrencyLimit(limit: $l) { id } }';
      const res = await expectGqlError(postGraphql(t.app, `{"query":${JSON.stringify(typed)},"variables":{"l":${raw}}}`), 400, 'BAD_REQUEST');
      // In range for Int but not for the setting: the setting's own message.
      if (raw === '-1' || raw === '1000001') expect(res.errors![0]!.message).toMatch(NAMES_SETTING);
      else expect(res.errors![0]!.message).toMatch(/Variable "\$l"/);
      await expectGqlError(postGraphql(t.app, gqlBody(`mutation { setConcurrencyLimit(limit: ${raw}) { id } }`)), 400, 'BAD_REQUEST');
    }
    expect(await t.database.prisma.setting.count({ where: { customerId: owner.id } })).toBe(0);
  });
});

describe('duplicated JSON keys: the last one wins (JSON.parse), on both doors', () => {
  it('takes the last value of a repeated key in a REST body and in GraphQL variables', async () => {
    const c = await t.customer();
    const rest = await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: '{"limit": 1, "limit": 2}' });
    expect(await rest.json()).toEqual({ limit: 2 });
    const profile = await t.http('PATCH', '/customers/self', { key: c.key, body: '{"profile": {"a": 1, "a": 2}}' });
    expect(((await profile.json()) as { profile: unknown }).profile).toEqual({ a: 2 });
    const mutation = 'mutation($l: Int!) { setConcurrencyLimit(limit: $l) { settings { concurrencyLimit } } }';
    const gql = await postGraphql(t.app, `{"query":${JSON.stringify(mutation)},"variables":{"l":3,"l":4}}`, 'application/json', c.key);
    expect(await gql.json()).toEqual({ data: { setConcurrencyLimit: { settings: { concurrencyLimit: 4 } } } });
  });

  it('refuses a repeated field in a GraphQL object literal (a GraphQL validation rule) with 400', async () => {
    await expectGqlError(
      postGraphql(t.app, gqlBody('mutation { updateCustomerProfile(profile: {a: 1, a: 2}) { id } }')),
      400,
      'BAD_REQUEST',
      /only one input field named "a"/,
    );
  });
});

describe('wrong media types', () => {
  it('REST: 415 for a body that is not application/json (UTF-8)', async () => {
    for (const contentType of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
      await expectRestError(
        t.http('PUT', '/customers/self/concurrency-limit', { key: owner.key, body: '{"limit": 1}', headers: { 'content-type': contentType } }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
    await expectRestError(
      t.app.fetch('http://test/customers/self/concurrency-limit', { method: 'PUT', headers: { authorization: `Bearer ${owner.key}` }, body: '{"limit": 1}' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('GraphQL: 415 in the contract shape for a media type it does not read, or a charset other than UTF-8', async () => {
    const body = gqlBody('{ me { name } }');
    for (const contentType of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', null]) {
      await expectGqlError(postGraphql(t.app, body, contentType), 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    // What it reads: JSON, and a bare document as application/graphql.
    expect((await postGraphql(t.app, body, 'application/json; charset=utf-8')).status).toBe(200);
    expect((await postGraphql(t.app, '{ me { name } }', 'application/graphql')).status).toBe(200);
  });

  it('GraphQL: malformed JSON, a body that is not an object, an empty body, and another method are 4xx in the contract shape', async () => {
    const invalid = await expectGqlError(postGraphql(t.app, '{"query": '), 400, 'BAD_REQUEST', /invalid JSON/);
    expect(JSON.stringify(invalid)).not.toContain('originalError');
    await expectGqlError(postGraphql(t.app, 'null'), 400, 'BAD_REQUEST');
    await expectGqlError(postGraphql(t.app, '[{"query":"{ me { id } }"}]'), 400, 'BAD_REQUEST');
    await expectGqlError(postGraphql(t.app, ''), 400, 'BAD_REQUEST');
    await expectGqlError(
      t.app.fetch('http://test/graphql', { method: 'PUT', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' }, body: gqlBody('{ me { id } }') }),
      405,
      'METHOD_NOT_ALLOWED',
    );
  });
});
