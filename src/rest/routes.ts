import type { z } from 'zod';
import { createApiKey, createApiKeyInput, listApiKeys, revokeApiKey } from '../auth/api-keys.js';
import type { RequestContext, Services } from '../context.js';
import {
  createCustomer,
  createCustomerInput,
  type Customer,
  pageCustomers,
  resolveCustomer,
  updateCustomer,
  updateCustomerInput,
} from '../customers/service.js';
import {
  listSettings,
  removeConcurrencyLimit,
  removeSetting,
  requireConcurrencyLimit,
  requireSetting,
  setConcurrencyLimit,
  setSetting,
  settingsObject,
} from '../customers/settings.js';
import { unavailable } from '../errors.js';
import { Reply } from './http.js';
import type { Metrics } from './metrics.js';
import { renderApiKey, renderCreatedApiKey, renderCustomer, renderSetting } from './render.js';
import {
  apiKeyListJson,
  concurrencyLimitBody,
  concurrencyLimitJson,
  createdApiKeyJson,
  customerJson,
  customerListJson,
  listCustomersQuery,
  setSettingBody,
  settingJson,
  settingsJson,
  settingValueBody,
  readyJson,
  statusJson,
} from './schemas.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call a route. Documentation: the services enforce it. */
export type Who = 'anyone' | 'owner or system' | 'system';

interface RouteInfo {
  method: Method;
  /** The path template: literal segments and `{param}` segments. */
  path: string;
  operationId: string;
  tag: 'Customers' | 'Settings' | 'Concurrency limit' | 'API keys' | 'Service';
  summary: string;
  description?: string;
  /** The success status. */
  status: 200 | 201 | 204;
  /** The schema of the success body (JSON); none for 204. */
  response?: z.ZodType;
  /** A success body that no schema here describes. */
  media?: { type: string; description: string };
  /** Error statuses this route can answer beyond those its auth, parameters and body imply. */
  errors?: number[];
}

export interface HandlerInput<B = unknown, Q = unknown> {
  request: Request;
  /** The path parameters, each URI-decoded once. */
  params: Record<string, string>;
  body: B;
  query: Q;
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
 * generated from. Handlers parse nothing themselves (the router did), call a service, and render.
 */
export function createRoutes({ services, metrics, openApi }: RouteDeps): Route[] {
  const customerAndSettings = async (ctx: RequestContext, identifier: string) => {
    const customer = await resolveCustomer(ctx, identifier);
    return renderCustomer(customer, await listSettings(ctx, customer));
  };

  const routes: Route[] = [
    // ---- customers ----
    keyRoute({
      method: 'GET',
      path: '/customers',
      operationId: 'listCustomers',
      tag: 'Customers',
      summary: 'List customers',
      description:
        'All customers in id order, a page at a time: `limit` of them (1 to 500, 50 by default) after the customer ' +
        'whose id is `after`. The answer is a JSON array; when more customers follow, the `Link` header holds the ' +
        'next page: `Link: </customers?limit=50&after=1234>; rel="next"`. No `Link` header: this is the last page.',
      who: 'system',
      query: listCustomersQuery,
      status: 200,
      response: customerListJson,
      async handle({ ctx, query }) {
        const page = await pageCustomers(ctx, query);
        const json = await Promise.all(page.customers.map(async (c) => renderCustomer(c, await listSettings(ctx, c))));
        const headers: Record<string, string> = {};
        if (page.next !== undefined) headers.link = `</customers?limit=${query.limit}&after=${page.next}>; rel="next"`;
        return new Reply({ json, headers });
      },
    }),
    keyRoute({
      method: 'POST',
      path: '/customers',
      operationId: 'createCustomer',
      tag: 'Customers',
      summary: 'Register a customer',
      description: 'Names are 1 to 128 characters, unique, without control characters, and may not be `self`, all digits or UUID-shaped. The `Location` header names the new customer by uuid.',
      who: 'system',
      body: createCustomerInput,
      status: 201,
      response: customerJson,
      errors: [409],
      async handle({ ctx, body }) {
        const customer = await createCustomer(ctx, body);
        return new Reply({
          status: 201,
          json: renderCustomer(customer, []),
          headers: { location: `/customers/${customer.uuid}` },
        });
      },
    }),
    keyRoute({
      method: 'GET',
      path: '/customers/{customer}',
      operationId: 'getCustomer',
      tag: 'Customers',
      summary: 'Get a customer',
      who: 'owner or system',
      status: 200,
      response: customerJson,
      handle: ({ ctx, params }) => customerAndSettings(ctx, params.customer!),
    }),
    keyRoute({
      method: 'PATCH',
      path: '/customers/{customer}',
      operationId: 'updateCustomer',
      tag: 'Customers',
      summary: 'Change a customer',
      description:
        'Fields left out are unchanged. The owner may replace `profile` (as a whole); a system key may also set ' +
        '`active` and `billingPlan` (a customer key sending them gets 403). Read-only fields are refused with 400.',
      who: 'owner or system',
      body: updateCustomerInput,
      status: 200,
      response: customerJson,
      async handle({ ctx, params, body }) {
        const customer = await updateCustomer(ctx, params.customer!, body);
        return new Reply({ json: renderCustomer(customer, await listSettings(ctx, customer)), headers: modifiedAt(customer) });
      },
    }),

    // ---- settings ----
    keyRoute({
      method: 'GET',
      path: '/customers/{customer}/settings',
      operationId: 'listSettings',
      tag: 'Settings',
      summary: 'All settings, as {name: value}',
      who: 'owner or system',
      status: 200,
      response: settingsJson,
      async handle({ ctx, params }) {
        return settingsObject(await listSettings(ctx, await resolveCustomer(ctx, params.customer!)));
      },
    }),
    keyRoute({
      method: 'POST',
      path: '/customers/{customer}/settings',
      operationId: 'setSetting',
      tag: 'Settings',
      summary: 'Create or replace a setting',
      description: 'Answers every setting after the change, as `{name: value}`.',
      who: 'owner or system',
      body: setSettingBody,
      status: 200,
      response: settingsJson,
      async handle({ ctx, params, body }) {
        const { customer } = await setSetting(ctx, params.customer!, body.name, body.value);
        const json = settingsObject(await listSettings(ctx, await resolveCustomer(ctx, params.customer!)));
        return new Reply({ json, headers: modifiedAt(customer) });
      },
    }),
    keyRoute({
      method: 'GET',
      path: '/customers/{customer}/settings/{name}',
      operationId: 'getSetting',
      tag: 'Settings',
      summary: 'Get one setting',
      description: '404 when the setting is not set.',
      who: 'owner or system',
      status: 200,
      response: settingJson,
      async handle({ ctx, params }) {
        return renderSetting(await requireSetting(ctx, await resolveCustomer(ctx, params.customer!), params.name!));
      },
    }),
    keyRoute({
      method: 'PUT',
      path: '/customers/{customer}/settings/{name}',
      operationId: 'putSetting',
      tag: 'Settings',
      summary: 'Create or replace one setting',
      who: 'owner or system',
      body: settingValueBody,
      status: 200,
      response: settingJson,
      async handle({ ctx, params, body }) {
        const { setting, customer } = await setSetting(ctx, params.customer!, params.name!, body.value);
        return new Reply({ json: renderSetting(setting), headers: modifiedAt(customer) });
      },
    }),
    keyRoute({
      method: 'DELETE',
      path: '/customers/{customer}/settings/{name}',
      operationId: 'deleteSetting',
      tag: 'Settings',
      summary: 'Remove one setting',
      description: '404 when the setting is not set.',
      who: 'owner or system',
      status: 204,
      async handle({ ctx, params }) {
        const customer = await removeSetting(ctx, params.customer!, params.name!);
        return new Reply({ status: 204, headers: modifiedAt(customer) });
      },
    }),

    // ---- concurrency limit ----
    keyRoute({
      method: 'GET',
      path: '/customers/{customer}/concurrency-limit',
      operationId: 'getConcurrencyLimit',
      tag: 'Concurrency limit',
      summary: "The customer's own (soft) concurrency limit",
      description:
        'The `concurrency-limit` setting; 404 when it is not set. When the billing plan holds a lower hard cap ' +
        '(`billingPlan.concurrency`), that cap applies instead.',
      who: 'owner or system',
      status: 200,
      response: concurrencyLimitJson,
      async handle({ ctx, params }) {
        return { limit: await requireConcurrencyLimit(ctx, await resolveCustomer(ctx, params.customer!)) };
      },
    }),
    keyRoute({
      method: 'PUT',
      path: '/customers/{customer}/concurrency-limit',
      operationId: 'putConcurrencyLimit',
      tag: 'Concurrency limit',
      summary: 'Set the concurrency limit',
      who: 'owner or system',
      body: concurrencyLimitBody,
      status: 200,
      response: concurrencyLimitJson,
      async handle({ ctx, params, body }) {
        const { limit, customer } = await setConcurrencyLimit(ctx, params.customer!, body.limit ?? body.value);
        return new Reply({ json: { limit }, headers: modifiedAt(customer) });
      },
    }),
    keyRoute({
      method: 'DELETE',
      path: '/customers/{customer}/concurrency-limit',
      operationId: 'deleteConcurrencyLimit',
      tag: 'Concurrency limit',
      summary: 'Remove the concurrency limit',
      description: '404 when none is set.',
      who: 'owner or system',
      status: 204,
      async handle({ ctx, params }) {
        const customer = await removeConcurrencyLimit(ctx, params.customer!);
        return new Reply({ status: 204, headers: modifiedAt(customer) });
      },
    }),

    // ---- API keys ----
    keyRoute({
      method: 'GET',
      path: '/customers/{customer}/apikeys',
      operationId: 'listApiKeys',
      tag: 'API keys',
      summary: "The customer's API keys",
      description: 'Revoked keys included (`active: false`); never their secrets.',
      who: 'owner or system',
      status: 200,
      response: apiKeyListJson,
      async handle({ ctx, params }) {
        return (await listApiKeys(ctx, params.customer!)).map(renderApiKey);
      },
    }),
    keyRoute({
      method: 'POST',
      path: '/customers/{customer}/apikeys',
      operationId: 'createApiKey',
      tag: 'API keys',
      summary: 'Issue a customer key',
      description: 'The answer holds the key\'s `secret`, shown only this once.',
      who: 'owner or system',
      body: createApiKeyInput,
      status: 201,
      response: createdApiKeyJson,
      async handle({ ctx, params, body }) {
        const key = await createApiKey(ctx, params.customer!, body);
        return new Reply({ status: 201, json: renderCreatedApiKey(key), headers: { 'cache-control': 'no-store' } });
      },
    }),
    keyRoute({
      method: 'DELETE',
      path: '/customers/{customer}/apikeys/{keyId}',
      operationId: 'revokeApiKey',
      tag: 'API keys',
      summary: 'Revoke a key',
      description:
        'The key stops working at once (within a second on other processes) and stays listed with `active: false`. ' +
        'Revoking a revoked key is a 204 again; a key the customer does not have is 404.',
      who: 'owner or system',
      status: 204,
      async handle({ ctx, params }) {
        await revokeApiKey(ctx, params.customer!, params.keyId!);
      },
    }),

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
        '503 UNAVAILABLE when the database does not answer. Redis being away does not make the service ' +
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

  if (metrics) {
    routes.push(
      publicRoute({
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
      }),
    );
  }
  return routes;
}
