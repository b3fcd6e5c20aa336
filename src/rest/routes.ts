import type { z } from 'zod';
import { callingKey, type ApiKey, type CreatedApiKey } from '../domain/auth/api-keys.js';
import type { Services } from '../domain/services.js';
import type { RequestContext } from '../domain/request-context.js';
import {
  allCustomers,
  type Customer,
  type CustomerView,
  pageCustomers,
  requireSystem,
  resolveCustomer,
  updateCustomerInput,
} from '../domain/customers/service.js';
import { listSettings, settingsObject } from '../domain/customers/settings.js';
import { unavailable } from '../kernel/errors.js';
import { apiKeyResource } from '../resources/api-key.js';
import { customerResource } from '../resources/customer.js';
import { eventResource } from '../resources/event.js';
import { keyIdentityResource } from '../resources/key-identity.js';
import { eventsStreamQuery, listEvents, openEventStream, resumePoint } from '../domain/events/service.js';
import { issueTicket, TICKET_TTL_SECONDS } from '../domain/events/tickets.js';
import { DIALECTS, timestamp, type Dialect } from '../resources/define.js';
import { settingResource } from '../resources/setting.js';
import { summaryOf, type Operation, type Target, type Who } from '../resources/operations/define.js';
import {
  createCustomerOperation,
  deleteCustomerOperation,
  getCustomerOperation,
  updateCustomerOperation,
} from '../resources/operations/customer.js';
import {
  getConcurrencyLimitOperation,
  getSettingOperation,
  listSettingsOperation,
  putSettingOperation,
  removeConcurrencyLimitOperation,
  removeSettingOperation,
  setConcurrencyLimitOperation,
  setSettingOperation,
} from '../resources/operations/settings.js';
import {
  createApiKeyOperation,
  deleteApiKeyOperation,
  getApiKeyOperation,
  listApiKeysOperation,
  updateApiKeyOperation,
} from '../resources/operations/api-key.js';
import { MERGE_PATCH_TYPE, Reply } from './reply.js';
import type { Metrics } from '../http/metrics.js';
import type { HttpRequest } from '../http/request.js';
import {
  concurrencyLimitJson,
  eventListJson,
  keyIdentityJson,
  streamTicketJson,
  dialectBody,
  dialectJson,
  listCustomersQuery,
  listTenantsQuery,
  settingsJson,
  readyJson,
  statusJson,
  tenantUpdateCustomerBody,
} from './schemas.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call a route (resources/operations/define.ts). Documentation: the services enforce it. */
export type { Who };

interface RouteInfo {
  method: Method;
  /** The path template: literal segments and `{param}` segments. */
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /** The success status. */
  status: 200 | 201 | 204;
  /** The schema of the success body (JSON); none for 204. */
  response?: z.ZodType;
  /** A success body that no schema here describes. */
  media?: { type: string; description: string };
  /** The route creates a resource and names it in the `Location` header (the handler sets it). */
  creates?: boolean;
  /** Error statuses this route can answer beyond those its auth, parameters and body imply. */
  errors?: number[];
  /** The dialect of a customer route (its path family); none for the service's own routes. */
  dialect?: Dialect;
  /** Media types the body may be sent as besides `application/json`. */
  bodyTypes?: string[];
  /** Other media types the success may be answered in, chosen by `Accept` (an event stream). */
  alternates?: { type: string; description: string }[];
  /** A live stream that a stream ticket (`?ticket=`) may open instead of a key (domain/events/tickets.ts). */
  ticket?: boolean;
}

export const TAGS = {
  Customers: 'Customer accounts (`/customers`).',
  Settings: "A customer's named settings.",
  'Concurrency limit': "The customer's own (soft) limit on concurrent calls: a view of the `concurrency-limit` setting.",
  'API keys': "A customer's bearer keys, under `/apikeys` or `/keys`.",
  'Tenants (compatibility dialect)':
    'The same resources in the platform\'s older *tenants* dialect, which its published clients speak: a create or an ' +
    'update answers 200 with the object, every delete 204 with no body, `PUT` on a tenant updates it as `PATCH` does, ' +
    '`GET /keys/self` tells a key who it is, unknown body members are ignored, and objects carry `tenantId` / `updatedAt`.',
  Events:
    'Every change to a customer, its profile, its settings or its keys, oldest first; as a page of JSON, or live as ' +
    'Server-Sent Events with `Accept: text/event-stream` (resume with `Last-Event-ID`).',
  Service: 'Health, readiness, metrics and this document.',
} as const;
export type Tag = keyof typeof TAGS;

export interface HandlerInput<B = unknown, Q = unknown> {
  request: HttpRequest;
  /** The path parameters, each URI-decoded once. */
  params: Record<string, string>;
  body: B;
  query: Q;
  /**
   * Ends the client's connection at once, dropping whatever is still queued for it (a stream whose
   * client stopped reading); a no-op when the app is called in-process.
   */
  disconnect: () => void;
}

/** A route that needs no key. */
export interface PublicRoute extends RouteInfo {
  auth: 'none';
  who: 'anyone';
  body?: undefined;
  query?: undefined;
  handle(input: HandlerInput): Promise<unknown>;
}

/** A route that needs a key: the handler gets the request context of the authenticated caller. */
export interface KeyRoute<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> extends RouteInfo {
  auth: 'key';
  who: Exclude<Who, 'anyone'>;
  /** The JSON body, parsed and validated with this schema before the handler runs. */
  body?: B;
  /** The query string, parsed and validated with this schema before the handler runs. */
  query?: Q;
  handle(input: HandlerInput<z.output<B>, z.output<Q>> & { ctx: RequestContext }): Promise<unknown>;
}

export type Route = PublicRoute | KeyRoute;

/** Keeps a key route's handler typed by its own body and query schemas. */
function keyRoute<B extends z.ZodType = z.ZodNever, Q extends z.ZodType = z.ZodNever>(
  route: Omit<KeyRoute<B, Q>, 'auth'>,
): Route {
  return { ...route, auth: 'key' } as unknown as Route;
}

function publicRoute(route: Omit<PublicRoute, 'auth' | 'who'>): Route {
  return { ...route, auth: 'none', who: 'anyone' };
}

export interface RouteDeps {
  services: Services;
  /** Undefined when metrics are switched off: then there is no /metrics route. */
  metrics?: Metrics;
  /** The OpenAPI document of these routes. */
  openApi(): unknown;
}

/**
 * What a write to a customer answers besides its body: the customer's `modifiedAt` as this write
 * set it, to the millisecond (bodies render seconds). Writes to one customer apply one at a time and
 * each moves `modifiedAt` forward, so this orders them; a 204 has no other way to say it.
 */
const modifiedAt = (customer: Customer) => ({ 'x-modified-at': customer.modifiedAt.toISOString() });

/**
 * The REST compatibility routes: the one table the router matches and the OpenAPI document is
 * generated from. Each customer route is written once and served in both dialects (`/customers`
 * and `/tenants`), key routes under both `/apikeys` and `/keys`. Handlers parse nothing themselves
 * (the router did), call a service, and render through the resource descriptions.
 */
export function createRoutes({ services, metrics, openApi }: RouteDeps): Route[] {
  const routes: Route[] = [
    ...DIALECTS.flatMap(customerRoutes),
    keySelfRoute('/keys/self', 'getCallingKey'),
    keySelfRoute('/apikeys/self', 'getCallingKeyViaApikeys'),
    eventRoute('all'),
    ticketRoute('all'),
    ...serviceRoutes(services, openApi),
  ];
  if (metrics) routes.push(metricsRoute(metrics));
  return routes;
}

/**
 * What sets a dialect's routes apart, said once per dialect: the tenants dialect is the customers
 * one with these options. Every route of a dialect is made from the same operations with its
 * options; no route asks which dialect it is in.
 */
interface DialectOptions {
  dialect: Dialect;
  /** The path family: `/customers` or `/tenants`. */
  prefix: string;
  /** How the dialect's texts call a customer. */
  noun: 'customer' | 'tenant';
  /** The tag of every route of the dialect; none: each route's own. */
  tag?: Tag;
  /** operationIds are this followed by the operation's name, capitalised (`tenantsGetCustomer`); none: the name. */
  operationIdPrefix?: string;
  /** What a create answers: 201, or the platform's older 200. */
  createStatus: 200 | 201;
  /**
   * Unknown and read-only body members are ignored, not refused (the platform's published clients
   * send extra members): each body is read in its lenient form (rest/schemas.ts `dialectBody`).
   */
  lenientBodies: boolean;
  /** The body `PATCH` (and `PUT`) on a customer reads, and what the document says of its members. */
  update: { body: z.ZodType; rule: string };
  /** `PUT` on a customer updates it as `PATCH` does (the platform's first PHP library updates with `PUT`). */
  putUpdates: boolean;
  /** `GET …/{customer}/{apikeys,keys}/self` tells the calling key who it is. */
  keySelf: boolean;
  /** The list of customers: its query, and what it answers. */
  list: { query: z.ZodType; summary: string; description: string };
}

const DIALECT_OPTIONS: Record<Dialect, DialectOptions> = {
  customers: {
    dialect: 'customers',
    prefix: '/customers',
    noun: 'customer',
    createStatus: 201,
    lenientBodies: false,
    update: { body: updateCustomerInput, rule: 'Read-only fields are refused with 400.' },
    putUpdates: false,
    keySelf: false,
    list: {
      query: listCustomersQuery,
      summary: 'List customers',
      description:
        'All customers in id order, a page at a time: `limit` of them (1 to 500, 50 by default) after the customer ' +
        'whose id is `after`. The answer is a JSON array; when more customers follow, the `Link` header holds the ' +
        'next page: `Link: </customers?limit=50&after=1234>; rel="next"`. No `Link` header: this is the last page.',
    },
  },
  tenants: {
    dialect: 'tenants',
    prefix: '/tenants',
    noun: 'tenant',
    tag: 'Tenants (compatibility dialect)',
    operationIdPrefix: 'tenants',
    createStatus: 200,
    lenientBodies: true,
    update: { body: tenantUpdateCustomerBody, rule: 'Unknown and read-only members are ignored.' },
    putUpdates: true,
    keySelf: true,
    list: {
      query: listTenantsQuery,
      summary: 'List tenants',
      description:
        'Without `limit`, every tenant in id order in one JSON array, streamed (the service holds one batch in memory, ' +
        'however many there are). With `limit` (1 to 500), a page after the tenant whose id is `after`, with the next ' +
        'page in the `Link` header as for `/customers`.',
    },
  },
};

/** What a REST door does with an operation: where it answers, and how. */
interface Binding<S extends z.ZodType, R> {
  method: Method;
  /** The path below the dialect's prefix. */
  path: string;
  /** The operationId's name when not the operation's (before the dialect's prefix). */
  operationId?: string;
  /** Said after the operation's own description. */
  note?: string;
  tag: Tag;
  /** 'created': the dialect's create status, with a `Location` header (the answer sets it). */
  status: 200 | 204 | 'created';
  response?: z.ZodType;
  errors?: number[];
  /** The body when not the operation's input (in its dialect's form). */
  body?: z.ZodType;
  bodyTypes?: string[];
  /** The answer: a JSON body (sent with the route's status) or a Reply; none: 204 with no headers. */
  answer?(result: R, call: { ctx: RequestContext; params: Record<string, string>; input: z.output<S> }): unknown;
}

/** A route of a dialect that calls an operation. */
function operationRoute<S extends z.ZodType, R>(operation: Operation<S, R>, d: DialectOptions, binding: Binding<S, R>): Route {
  const name = binding.operationId ?? operation.name;
  const body = binding.body ?? (operation.input && (d.lenientBodies ? dialectBody(operation.input, d.dialect) : operation.input));
  const description = [operation.description, binding.note].filter(Boolean).join(' ');
  const status = binding.status === 'created' ? d.createStatus : binding.status;
  return keyRoute({
    method: binding.method,
    path: d.prefix + binding.path,
    operationId: d.operationIdPrefix ? `${d.operationIdPrefix}${name[0]!.toUpperCase()}${name.slice(1)}` : name,
    tag: d.tag ?? binding.tag,
    summary: summaryOf(operation, d.noun),
    ...(description && { description }),
    dialect: d.dialect,
    who: operation.who,
    ...(body && { body }),
    ...(binding.bodyTypes && { bodyTypes: binding.bodyTypes }),
    status,
    ...(binding.status === 'created' && { creates: true }),
    ...(binding.response && { response: binding.response }),
    ...(binding.errors && { errors: binding.errors }),
    async handle({ ctx, params, body: input }) {
      const result = await operation.run(ctx, params as unknown as Target, input as z.output<S>);
      return binding.answer ? binding.answer(result, { ctx, params, input: input as z.output<S> }) : new Reply({ status: 204 });
    },
  });
}

/** The customer resources of one dialect. */
function customerRoutes(dialect: Dialect): Route[] {
  const d = DIALECT_OPTIONS[dialect];
  const { prefix } = d;
  const tag = (own: Tag): Tag => d.tag ?? own;
  const operationId = (name: string) => (d.operationIdPrefix ? `${d.operationIdPrefix}${name[0]!.toUpperCase()}${name.slice(1)}` : name);
  const json = <K extends keyof typeof dialectJson>(kind: K) => dialectJson[kind][dialect];
  const customerJson = (view: CustomerView) => customerResource.render(view, dialect);
  const keyJson = (key: ApiKey) => apiKeyResource.render(key, dialect);
  const createdKeyJson = (key: CreatedApiKey) => ({ ...keyJson(key), secret: key.secret });
  const withSettings = async (ctx: RequestContext, customer: Customer): Promise<CustomerView> => ({
    ...customer,
    settings: await listSettings(ctx, customer),
  });
  /** A write that changed the customer: its answer and the customer's `X-Modified-At`. */
  const changed = (customer: Customer, json?: unknown) =>
    new Reply(json === undefined ? { status: 204, headers: modifiedAt(customer) } : { json, headers: modifiedAt(customer) });

  const update = (method: 'PATCH' | 'PUT') =>
    operationRoute(updateCustomerOperation, d, {
      method,
      path: '/{customer}',
      ...(method === 'PUT' && { operationId: 'putCustomer' }),
      note: d.update.rule + (method === 'PUT' ? ' `PUT` is the same update as `PATCH` (the platform\'s first PHP library updates with `PUT`).' : ''),
      tag: 'Customers',
      body: d.update.body,
      bodyTypes: [MERGE_PATCH_TYPE],
      status: 200,
      response: json('customer'),
      answer: async (customer, { ctx }) => changed(customer, customerJson(await withSettings(ctx, customer))),
    });

  const routes: Route[] = [
    // ---- customers ----
    // The list is the door's own: a page with a `Link` in one dialect, every customer streamed in the other.
    keyRoute({
      method: 'GET',
      path: prefix,
      operationId: operationId('listCustomers'),
      tag: tag('Customers'),
      summary: d.list.summary,
      description: d.list.description,
      dialect,
      who: 'system',
      query: d.list.query,
      status: 200,
      response: json('customerList'),
      async handle({ ctx, query }) {
        const { limit, after } = query as { limit?: number; after?: number };
        if (limit === undefined) return new Reply({ stream: await streamAll(ctx, customerJson) });
        const page = await pageCustomers(ctx, { limit, after });
        const list = await Promise.all(page.customers.map(async (c) => customerJson(await withSettings(ctx, c))));
        const headers: Record<string, string> = {};
        if (page.next !== undefined) headers.link = `<${prefix}?limit=${limit}&after=${page.next}>; rel="next"`;
        return new Reply({ json: list, headers });
      },
    }),
    operationRoute(createCustomerOperation, d, {
      method: 'POST',
      path: '',
      tag: 'Customers',
      status: 'created',
      response: json('customer'),
      errors: [409],
      answer: (customer) =>
        new Reply({
          status: d.createStatus,
          json: customerJson({ ...customer, settings: [] }),
          headers: { location: `${prefix}/${customer.uuid}` },
        }),
    }),
    operationRoute(getCustomerOperation, d, {
      method: 'GET',
      path: '/{customer}',
      tag: 'Customers',
      status: 200,
      response: json('customer'),
      answer: async (customer, { ctx }) => customerJson(await withSettings(ctx, customer)),
    }),
    update('PATCH'),
    ...(d.putUpdates ? [update('PUT')] : []),
    operationRoute(deleteCustomerOperation, d, { method: 'DELETE', path: '/{customer}', tag: 'Customers', status: 204 }),

    // ---- settings ----
    operationRoute(listSettingsOperation, d, {
      method: 'GET',
      path: '/{customer}/settings',
      tag: 'Settings',
      status: 200,
      response: settingsJson,
      answer: (settings) => settingsObject(settings),
    }),
    operationRoute(setSettingOperation, d, {
      method: 'POST',
      path: '/{customer}/settings',
      tag: 'Settings',
      status: 200,
      response: settingsJson,
      answer: async ({ customer }, { ctx, params }) =>
        changed(customer, settingsObject(await listSettings(ctx, await resolveCustomer(ctx, params.customer!)))),
    }),
    operationRoute(getSettingOperation, d, {
      method: 'GET',
      path: '/{customer}/settings/{name}',
      tag: 'Settings',
      status: 200,
      response: json('setting'),
      answer: (setting) => settingResource.render(setting, dialect),
    }),
    operationRoute(putSettingOperation, d, {
      method: 'PUT',
      path: '/{customer}/settings/{name}',
      tag: 'Settings',
      status: 200,
      response: json('setting'),
      answer: ({ setting, customer }) => changed(customer, settingResource.render(setting, dialect)),
    }),
    operationRoute(removeSettingOperation, d, {
      method: 'DELETE',
      path: '/{customer}/settings/{name}',
      tag: 'Settings',
      status: 204,
      answer: ({ customer }) => changed(customer),
    }),

    // ---- concurrency limit ----
    operationRoute(getConcurrencyLimitOperation, d, {
      method: 'GET',
      path: '/{customer}/concurrency-limit',
      tag: 'Concurrency limit',
      status: 200,
      response: concurrencyLimitJson,
      answer: (limit) => ({ limit }),
    }),
    operationRoute(setConcurrencyLimitOperation, d, {
      method: 'PUT',
      path: '/{customer}/concurrency-limit',
      tag: 'Concurrency limit',
      status: 200,
      response: concurrencyLimitJson,
      answer: ({ limit, customer }) => changed(customer, { limit }),
    }),
    operationRoute(removeConcurrencyLimitOperation, d, {
      method: 'DELETE',
      path: '/{customer}/concurrency-limit',
      tag: 'Concurrency limit',
      status: 204,
      answer: ({ customer }) => changed(customer),
    }),
  ];

  routes.push(
    eventRoute({ prefix, dialect, tag: tag('Events'), operationId: operationId('listCustomerEvents') }),
    ticketRoute({ prefix, dialect, tag: tag('Events'), operationId: operationId('createCustomerStreamTicket'), created: d.createStatus }),
  );

  // ---- API keys: the same resource under /apikeys and /keys ----
  for (const segment of ['apikeys', 'keys'] as const) {
    const keys = `/{customer}/${segment}`;
    const via = (name: string) => (segment === 'keys' ? `${name}ViaKeys` : name);
    // `self` names the calling key, in the tenants dialect only and only to read it: before the
    // `{key}` routes, so it is matched first (a key labelled "self" is still reached by keyId or id).
    if (d.keySelf) routes.push(keySelfRoute(`${prefix}${keys}/self`, operationId(via('getCallingKey'))));
    routes.push(
      operationRoute(listApiKeysOperation, d, {
        method: 'GET',
        path: keys,
        operationId: via('listApiKeys'),
        tag: 'API keys',
        status: 200,
        response: json('apiKeyList'),
        answer: (list) => list.map(keyJson),
      }),
      operationRoute(createApiKeyOperation, d, {
        method: 'POST',
        path: keys,
        operationId: via('createApiKey'),
        tag: 'API keys',
        status: 'created',
        response: json('createdApiKey'),
        answer: (key) =>
          new Reply({
            status: d.createStatus,
            json: createdKeyJson(key),
            // The secret is in this answer only: no cache may keep it.
            headers: { 'cache-control': 'no-store', location: `${prefix}/${key.customerId}/${segment}/${key.keyId}` },
          }),
      }),
      operationRoute(getApiKeyOperation, d, {
        method: 'GET',
        path: `${keys}/{key}`,
        operationId: via('getApiKey'),
        tag: 'API keys',
        status: 200,
        response: json('apiKey'),
        errors: [409],
        answer: keyJson,
      }),
      operationRoute(updateApiKeyOperation, d, {
        method: 'PATCH',
        path: `${keys}/{key}`,
        operationId: via('updateApiKey'),
        tag: 'API keys',
        status: 200,
        response: json('apiKey'),
        errors: [409],
        answer: keyJson,
      }),
      operationRoute(deleteApiKeyOperation, d, {
        method: 'DELETE',
        path: `${keys}/{key}`,
        operationId: via('deleteApiKey'),
        tag: 'API keys',
        status: 204,
        errors: [409],
      }),
    );
  }
  return routes;
}

/**
 * Who the calling key is (`GET /keys/self`): the platform's first PHP library asks before anything
 * else and takes its tenant's id and name from the answer. Under `/tenants/{customer}` the customer
 * must be the key's own (a system key belongs to none: 404).
 */
function keySelfRoute(path: string, operationId: string): Route {
  const scoped = path.includes('{customer}');
  return keyRoute({
    method: 'GET',
    path,
    operationId,
    tag: 'Tenants (compatibility dialect)',
    summary: 'Who the calling key is',
    description:
      "The calling key (`id`, `keyId`, `keyName`, `type`, `active`) and its tenant's `tenantId` and `name`, both null for " +
      'a system key. Never a secret. `self` names a key only here and only to read it: `PATCH` and `DELETE` name a key by ' +
      'its `keyId`, `id` or label.' +
      (scoped ? ' The tenant must be the one that owns the calling key; for a system key this is 404.' : ''),
    dialect: 'tenants',
    who: 'owner or system',
    status: 200,
    response: keyIdentityJson,
    handle: async ({ ctx, params }) => keyIdentityResource.render(await callingKey(ctx, params.customer), 'tenants'),
  });
}

const SSE = 'text/event-stream';

/**
 * A resource's events: one customer's (`{prefix}/{customer}/events`, owner or system) or everyone's
 * (`/events`, system). JSON pages by default; a live Server-Sent Events stream when the client
 * accepts `text/event-stream`.
 */
function eventRoute(where: 'all' | { prefix: string; dialect: Dialect; tag: Tag; operationId: string }): Route {
  const all = where === 'all';
  const path = all ? '/events' : `${where.prefix}/{customer}/events`;
  return keyRoute({
    method: 'GET',
    path,
    operationId: all ? 'listEvents' : where.operationId,
    tag: all ? 'Events' : where.tag,
    summary: all ? "Every customer's events" : "The customer's events",
    description:
      'Oldest first, `limit` after the event whose id is `after`; when the page is full, `Link` holds the next one. ' +
      'With `Accept: text/event-stream` the same events come as a live Server-Sent Events stream (`id:` the event id, ' +
      '`event:` its type, `data:` the event), followed by each new one within a second of its commit, with a ' +
      'heartbeat comment every 15 s; reconnecting with `Last-Event-ID` (or `after`) resumes with nothing lost or ' +
      'repeated. A client that stops reading is disconnected (`event: error`) once 1 MiB waits for it. A key may hold ' +
      'MAX_STREAMS_PER_KEY streams (429 beyond). A resume point older than the retention keeps is 410. A browser\'s ' +
      '`EventSource`, which cannot send `Authorization`, opens the stream with `?ticket=` instead (see ' +
      '`POST …/events/tickets`); a ticket opens the live stream only.',
    ...(!all && { dialect: where.dialect }),
    who: all ? 'system' : 'owner or system',
    query: eventsStreamQuery,
    status: 200,
    response: eventListJson,
    alternates: [{ type: SSE, description: 'The live stream (Server-Sent Events).' }],
    errors: [410, 429],
    ticket: true,
    async handle({ ctx, params, query, request, disconnect }) {
      const scope = all ? 'all' : { customer: params.customer! };
      const after = resumePoint(request.headers.get('last-event-id'), query.after);
      if (request.headers.get('accept')?.includes(SSE)) {
        const body = await openEventStream(ctx, scope, after, (event) => eventResource.render(event, 'customers'), disconnect);
        return new Reply({
          body,
          // No proxy may buffer or transform it (X-Accel-Buffering: nginx).
          headers: { 'content-type': SSE, 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' },
        });
      }
      const events = await listEvents(ctx, scope, { after, limit: query.limit });
      const headers: Record<string, string> = {};
      if (events.length === query.limit) headers.link = `<${path.replace('{customer}', encodeURIComponent(params.customer ?? ''))}?after=${events.at(-1)!.id}&limit=${query.limit}>; rel="next"`;
      return new Reply({ json: events.map((e) => eventResource.render(e, 'customers')), headers });
    },
  });
}

/**
 * A stream ticket: what a browser's EventSource puts in the stream's URL instead of the key
 * (domain/events/tickets.ts). Who may ask is who may read the stream.
 */
function ticketRoute(where: 'all' | { prefix: string; dialect: Dialect; tag: Tag; operationId: string; created: 200 | 201 }): Route {
  const all = where === 'all';
  const status = all ? 201 : where.created;
  return keyRoute({
    method: 'POST',
    path: all ? '/events/tickets' : `${where.prefix}/{customer}/events/tickets`,
    operationId: all ? 'createStreamTicket' : where.operationId,
    tag: all ? 'Events' : where.tag,
    summary: 'A ticket to open the live stream from a browser',
    description:
      `A short-lived (${TICKET_TTL_SECONDS} s), single-use ticket that opens ${all ? 'the operator\'s stream of every customer\'s events' : "the customer's live event stream"} ` +
      'once, in the name of the calling key, for a client that cannot send `Authorization` (a browser\'s `EventSource`): ' +
      '`new EventSource(url)` with the `url` answered. A reconnect needs a new ticket (resume with `?after=` the last ' +
      'event id received). The key\'s suspension or deletion ends the stream as it would the key\'s own. Keep the ticket ' +
      'as you would the key until it is used.',
    ...(!all && { dialect: where.dialect }),
    who: all ? 'system' : 'owner or system',
    status,
    response: streamTicketJson,
    async handle({ ctx, params }) {
      const issued = await issueTicket(ctx, all ? 'all' : { customer: params.customer! });
      const path = all ? '/events' : `${where.prefix}/${issued.customerUuid}/events`;
      const json = { ticket: issued.ticket, expiresAt: timestamp(issued.expiresAt), url: `${path}?ticket=${issued.ticket}` };
      // The ticket is a credential until it is used: no cache may keep it.
      return new Reply({ status, json, headers: { 'cache-control': 'no-store' } });
    },
  });
}

/**
 * Every customer as one JSON array, a batch at a time. The caller's authority and the first batch
 * are checked before the answer starts, so those failures are still ordinary error answers; a
 * failure later cuts the stream (the status line has gone).
 */
async function streamAll(ctx: RequestContext, render: (view: CustomerView) => unknown): Promise<AsyncIterable<string>> {
  requireSystem(ctx, 'list customers');
  const batches = allCustomers(ctx);
  const first = await batches.next();
  return (async function* () {
    yield '[';
    let separator = '';
    for (let next = first; !next.done; next = await batches.next()) {
      let chunk = '';
      for (const view of next.value) {
        chunk += separator + JSON.stringify(render(view));
        separator = ',';
      }
      yield chunk;
    }
    yield ']';
  })();
}

function serviceRoutes(services: Services, openApi: () => unknown): Route[] {
  return [
    // ---- the service itself ----
    publicRoute({
      method: 'GET',
      path: '/health',
      operationId: 'health',
      tag: 'Service',
      summary: 'Liveness: the process is up',
      status: 200,
      response: statusJson,
      handle: async () => ({ status: true }),
    }),
    publicRoute({
      method: 'GET',
      path: '/ready',
      operationId: 'ready',
      tag: 'Service',
      summary: 'Readiness: the database answers',
      description:
        '503 UNAVAILABLE when the database does not answer within `READY_TIMEOUT_MS` (1 s by default). Redis being away does not make the service ' +
        'unready (requests are then limited per process); `rateLimit` says `degraded` instead.',
      status: 200,
      response: readyJson,
      errors: [503],
      async handle() {
        const ok = await services.ping().then(
          () => true,
          () => false,
        );
        if (!ok) throw unavailable('The database is not answering');
        return { status: true as const, rateLimit: services.rateLimiter.mode() };
      },
    }),
    publicRoute({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openApi',
      tag: 'Service',
      summary: 'This document',
      status: 200,
      media: { type: 'application/json', description: 'The OpenAPI 3.1 document of these routes.' },
      handle: async () => openApi(),
    }),
  ];
}

function metricsRoute(metrics: Metrics): Route {
  return publicRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Service',
    summary: 'Prometheus metrics',
    description:
      'Requests by method, route template and status (`http_requests_total`), their latency ' +
      '(`http_request_duration_seconds`), the database pool (`db_pool_connections`, `db_pool_waiting_clients`), ' +
      'the SQL statements sent (`db_statements_total`), whether rate limits are shared through Redis ' +
      '(`rate_limit_shared`, 1 or 0; only with REDIS_URL) and the process. Absent (404) when the service runs with METRICS=off.',
    status: 200,
    media: { type: 'text/plain; version=0.0.4', description: 'Prometheus text exposition format.' },
    async handle() {
      return new Reply({ text: await metrics.text(), headers: { 'content-type': metrics.contentType } });
    },
  });
}
