import { z } from 'zod';
import { statusOf, type ErrorCode } from '../kernel/errors.js';
import { configDefaults } from '../kernel/config.js';
import { TAGS, type Route } from './routes.js';
import { components, errorJson } from './schemas.js';

const REF = '#/components/schemas/';

const PARAMETERS: Record<string, string> = {
  customer:
    '`self` (the customer that owns the key), a UUID (any letter case), the decimal `id`, or else the exact name, ' +
    'URI-encoded (`Acme%20Corp%2FEU` is `Acme Corp/EU`); the segment is decoded once.',
  name: 'The setting name, e.g. `concurrency-limit`.',
  key:
    'The key: its `keyId`, its numeric `id`, or its name when exactly one live key of the customer has that name ' +
    '(two or more: 409). Deleted keys are never found.',
};

const ERRORS: Partial<Record<number, string>> = {
  400: 'BAD_REQUEST: malformed JSON, wrong types, unknown or read-only fields, invalid values or identifiers',
  401: 'UNAUTHENTICATED: missing, malformed, unknown or revoked key',
  403: "FORBIDDEN: the key may not do this, or names another customer than its own, or its customer is inactive",
  404: 'NOT_FOUND',
  409: 'CONFLICT: the name is taken, or a key name is shared by several keys',
  410: 'GONE: the resume point is older than the events kept (EVENT_RETENTION_DAYS)',
  429: 'RATE_LIMITED: too many requests, or too many open streams, for this key (see Retry-After)',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not sent as application/json (or, for PATCH, application/merge-patch+json)',
  500: 'INTERNAL: an unexpected error (logged; never detailed here)',
  503: 'UNAVAILABLE: the database does not answer in time (or the service is shutting down); see Retry-After',
};

/**
 * The response headers the service sends, documented once (components.headers) and referenced by
 * each response that carries them; which responses those are is derived from the route table below.
 */
const HEADERS = {
  'X-Request-Id': {
    description:
      "This request's id, also in the service's log line and in the events the request causes: the caller's own " +
      '`X-Request-Id` when it is 1 to 128 characters of `[A-Za-z0-9_.:@-]`, else a new UUID. Sent on every answer.',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: 128 },
  },
  'Retry-After': {
    description: 'Whole seconds to wait before trying again (429: with this key; 503: at all).',
    required: true,
    schema: { type: 'string', pattern: '^[0-9]+$', examples: ['1'] },
  },
  Location: {
    description: 'The path of the new resource, relative to the server.',
    required: true,
    schema: { type: 'string', format: 'uri-reference' },
  },
  Link: {
    description: 'The next page, as `<...>; rel="next"`; absent on the last page.',
    schema: { type: 'string' },
  },
  ETag: {
    description:
      'A strong validator of this body: send it back in `If-None-Match` and, while nothing changed, the answer is ' +
      '304 with no body. Absent on answers streamed as they are produced (every tenant at once, an event stream).',
    schema: { type: 'string' },
  },
  'Cache-Control': {
    description:
      '`private, no-cache` with an `ETag`: the answer depends on the key, so shared caches keep none, and clients ' +
      'revalidate each time; `no-cache, no-transform` on an event stream.',
    schema: { type: 'string' },
  },
  'X-Modified-At': {
    description:
      "The customer's `modifiedAt` as this write set it, to the millisecond (`2020-03-29T10:26:51.123Z`). " +
      'Writes to one customer apply one at a time, each moving `modifiedAt` forward, so this orders them.',
    required: true,
    schema: { type: 'string', format: 'date-time' },
  },
} as const;
type HeaderName = keyof typeof HEADERS;

const headers = (...names: HeaderName[]) =>
  Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

/**
 * Where the routes are: relative to the document's own URL, so the document is right on whatever
 * host, port and scheme it is fetched from, with no setting to keep in step with the deployment.
 */
const SERVERS = [{ url: '/', description: 'The service that serves this document.' }];

/** The service is not published under an open-source license. */
const LICENSE = { name: 'Proprietary: all rights reserved', identifier: 'LicenseRef-Proprietary' };

const kib = (bytes: number) => `${Math.round((bytes / 1024) * 100) / 100} KiB`;
const tooLarge = (maxBodyBytes: number) => `PAYLOAD_TOO_LARGE: the body is over ${kib(maxBodyBytes)}`;

const description = (maxBodyBytes: number) => `
The REST compatibility path of the customer API gateway, served beside GraphQL (\`/graphql\`) on the
same port, with the same services, rules and errors.

- **Authentication**: \`Authorization: Bearer <secret>\` on every route except \`/health\`, \`/ready\`,
  \`/metrics\` and \`/openapi.json\`. A customer key reaches only its own customer (any other, existing or
  not, is the same 403); a system key reaches every customer, and \`self\` with it is 400.
- **Customer identifiers** in paths: see the \`customer\` parameter.
- **Bodies** are JSON objects sent as \`application/json\` (UTF-8), at most ${kib(maxBodyBytes)}; unknown
  fields are refused (in the tenants dialect, ignored). When a key repeats in a body, the last one wins.
- **Two dialects**: every \`/customers…\` route is also served as \`/tenants…\`, the platform's older dialect
  that its published clients speak (tagged *Tenants (compatibility dialect)*), and key routes are served under
  both \`/apikeys\` and \`/keys\`. In the tenants dialect every delete answers 204 with no body, \`PUT\` on a
  tenant is the same update as \`PATCH\`, and \`GET /keys/self\` tells a key who it is.
- **Timestamps** are UTC with seconds precision: \`2020-03-29T10:26:51Z\`.
- **Errors**: the status code and \`{"status": false, "code": "<MACHINE_CODE>", "message": "<what was wrong>"}\`,
  also for an unknown path (404 NOT_FOUND) and a method a path does not serve (405 METHOD_NOT_ALLOWED,
  with \`Allow\`). \`HEAD\` is served wherever \`GET\` is.
- **Paging**: \`GET /customers\` answers a JSON array; the next page, when there is one, is in the \`Link\`
  header (\`rel="next"\`).
`.trim();

/** JSON Schemas of every registered component, in the mode (input or output) each is used in. */
function componentSchemas(routes: Route[]): Record<string, unknown> {
  const requests = new Set(routes.flatMap((route) => (route.body ? [nameOf(route.body)] : [])));
  const schemas: Record<string, unknown> = {};
  for (const io of ['input', 'output'] as const) {
    const generated = z.toJSONSchema(components, { target: 'draft-2020-12', io, uri: (id) => REF + id }).schemas;
    for (const [id, schema] of Object.entries(generated)) {
      // A request body is documented as it is accepted, everything else as it is sent.
      if ((io === 'input') !== requests.has(id)) continue;
      const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
      schemas[id] = io === 'input' ? exclusiveMembers(rest) : rest;
    }
  }
  return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
}

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; oneOf?: { required?: string[] }[] };

/**
 * An object that takes exactly one of some members (a `oneOf` of `required` lists beside its
 * `properties`, as the concurrency-limit body says it) documented as a `oneOf` of objects that each
 * hold only their own members: the same bodies validate, but a generated client types it as a
 * union (`{limit} | {value}`) instead of an object whose members are all optional. In an open
 * object (the tenants dialect) the other alternatives' members are `false` (absent), as the router
 * still refuses both at once.
 */
function exclusiveMembers(schema: JsonSchema): JsonSchema {
  const { properties, oneOf, required: _required, type: _type, additionalProperties, ...rest } = schema;
  if (!properties || !oneOf?.length || !oneOf.every((alt) => alt.required && Object.keys(alt).length === 1)) return schema;
  const closed = additionalProperties === false;
  return {
    ...rest,
    oneOf: oneOf.map(({ required = [] }) => ({
      type: 'object',
      properties: Object.fromEntries(
        Object.entries(properties).flatMap(([name, member]) =>
          required.includes(name) ? [[name, member]] : closed ? [] : [[name, false]],
        ),
      ),
      required,
      ...(closed && { additionalProperties: false }),
    })),
  };
}

function nameOf(schema: z.ZodType): string {
  const id = components.get(schema)?.id;
  if (!id) throw new Error('Every schema in the route table must be registered in rest/schemas.ts components');
  return id;
}

const ref = (schema: z.ZodType) => ({ $ref: REF + nameOf(schema) });

function errorStatuses(route: Route): number[] {
  const statuses = new Set<number>([500, ...(route.errors ?? [])]);
  // Every key is rate-limited (429), whatever the route.
  if (route.auth === 'key') [401, 403, 429, 503].forEach((s) => statuses.add(s));
  if (route.path.includes('{')) [400, 404].forEach((s) => statuses.add(s));
  if (route.body) [400, 413, 415].forEach((s) => statuses.add(s));
  if (route.query) statuses.add(400);
  return [...statuses].sort((a, b) => a - b);
}

/** The routes that change a customer, its profile or its settings (they answer X-Modified-At). */
const writesCustomer = (route: Route) =>
  (route.method === 'PATCH' || route.method === 'PUT' || (route.method === 'POST' && route.path.endsWith('/settings')) ||
    (route.method === 'DELETE' && /\/(settings\/\{name\}|concurrency-limit)$/.test(route.path))) &&
  /^\/(customers|tenants)\/\{customer\}(\/settings.*|\/concurrency-limit)?$/.test(route.path);

/** The headers of a route's success, from what the route table says of it. */
function successHeaders(route: Route): HeaderName[] {
  const names: HeaderName[] = ['X-Request-Id'];
  if (route.creates) names.push('Location');
  // A paged list (`limit` and `after`) links its next page.
  const query = (route.query as z.ZodObject | undefined)?.shape;
  if (query && 'limit' in query && 'after' in query) names.push('Link');
  if (route.method === 'GET' && route.status === 200) names.push('ETag');
  if (route.method === 'GET') names.push('Cache-Control');
  if (writesCustomer(route)) names.push('X-Modified-At');
  return names;
}

function operation(route: Route, maxBodyBytes: number) {
  const parameters: unknown[] = [];
  for (const [, name = ''] of route.path.matchAll(/\{(\w+)\}/g)) {
    parameters.push({ name, in: 'path', required: true, description: PARAMETERS[name], schema: { type: 'string', minLength: 1 } });
  }
  if (route.query) {
    const query = z.toJSONSchema(route.query, { target: 'draft-2020-12', io: 'input' }) as {
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(query.properties)) {
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }
  const success: Record<string, unknown> = { description: route.summary };
  if (route.response) success.content = { 'application/json': { schema: ref(route.response) } };
  else if (route.media) {
    success.content = { [route.media.type]: { schema: { type: route.media.type.startsWith('text/') ? 'string' : 'object' } } };
  }
  if (route.media) success.description = route.media.description;
  for (const alternate of route.alternates ?? []) {
    (success.content as Record<string, unknown>)[alternate.type] = { schema: { type: 'string', description: alternate.description } };
    parameters.push({
      name: 'Last-Event-ID',
      in: 'header',
      required: false,
      description: 'The id of the last event received: the stream (or page) resumes after it. Wins over `after`.',
      schema: { type: 'string', pattern: '^[0-9]{1,15}$' },
    });
  }
  const read = route.method === 'GET';
  if (read) {
    parameters.push({
      name: 'If-None-Match',
      in: 'header',
      required: false,
      description: 'The `ETag` of an answer already held: while the answer is unchanged, 304 with no body.',
      schema: { type: 'string' },
    });
  }
  success.headers = headers(...successHeaders(route));
  const responses: Record<string, unknown> = { [route.status]: success };
  if (read) {
    responses[304] = {
      description: 'Not modified: the `ETag` sent in `If-None-Match` is still the answer\'s.',
      headers: headers('X-Request-Id', 'ETag', 'Cache-Control'),
    };
  }
  for (const status of errorStatuses(route)) {
    const code = (Object.keys(statusOf) as ErrorCode[]).find((c) => statusOf[c] === status);
    responses[status] = {
      description: status === 413 ? tooLarge(maxBodyBytes) : (ERRORS[status] ?? code),
      headers: headers('X-Request-Id', ...(status === 429 || status === 503 ? (['Retry-After'] as const) : [])),
      content: { 'application/json': { schema: ref(errorJson) } },
    };
  }
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: [route.description, `Who: ${route.who}.`].filter(Boolean).join('\n\n'),
    security: route.auth === 'key' ? [{ bearerAuth: [] }] : [],
    ...(parameters.length && { parameters }),
    ...(route.body && {
      requestBody: {
        required: true,
        content: Object.fromEntries(['application/json', ...(route.bodyTypes ?? [])].map((type) => [type, { schema: ref(route.body!) }])),
      },
    }),
    responses,
  };
}

/** The OpenAPI 3.1 document of exactly the given routes, generated from their schemas. */
export function openApiDocument(routes: Route[], maxBodyBytes = configDefaults.MAX_BODY_BYTES) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, maxBodyBytes);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Customer API gateway: REST compatibility',
      version: '1.0.0',
      description: description(maxBodyBytes),
      license: LICENSE,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: SERVERS,
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name, description: TAGS[name] })),
    paths,
    components: {
      schemas: componentSchemas(routes),
      headers: HEADERS,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: '`XI` followed by 32 characters from [A-Za-z0-9].' } },
    },
  };
}
