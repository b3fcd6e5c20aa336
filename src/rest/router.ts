import { createHash } from 'node:crypto';
import type { AppOptions } from '../kernel/config.js';
import { parseInput } from '../kernel/json.js';
import { AppError, describeError, isDatabaseUnavailable, notFound, toAppError } from '../kernel/errors.js';
import { readJsonObject } from '../http/body.js';
import { identityEtag } from '../http/compression.js';
import type { Metrics } from '../http/metrics.js';
import type { HttpRequest } from '../http/request.js';
import { JSON_TYPE, errorResponse, lowerCase, type HttpResponse } from '../http/response.js';
import type { Logger } from 'pino';
import { authenticateRequest, authenticateTicket } from '../domain/request-context.js';
import type { Services } from '../domain/services.js';
import { Reply } from './reply.js';
import { openApiDocument } from './openapi.js';
import { RouteTable, decodeParams, readQuery } from './route-table.js';
import { createRoutes, type Route } from './routes.js';

/**
 * The REST door: the compatibility routes, answered straight from node:http (no Fetch API objects
 * on the way). The path is matched against the route table, the key checked, the body and query
 * validated, and the handler's result rendered. Every failure, including the router's own (unknown
 * path, wrong method, bad body), is the error envelope.
 */
export function createRestDoor(services: Services, logger: Logger, options: AppOptions, metrics?: Metrics): (request: HttpRequest) => Promise<HttpResponse> {
  let document: unknown;
  const routes: Route[] = createRoutes({
    services,
    metrics,
    openApi: () => (document ??= openApiDocument(routes, options.MAX_BODY_BYTES)),
  });
  const table = new RouteTable(routes);

  async function handle(request: HttpRequest): Promise<Reply> {
    const { info, url } = request;
    const match = table.match(url.pathname);
    if (!match) throw notFound('There is no such path; the routes are listed in /openapi.json');
    const route = match.methods.get(request.method === 'HEAD' ? 'GET' : request.method);
    info.route = match.template;
    if (!route) {
      throw new AppError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here; allowed: ${match.allow}`, {
        allow: match.allow,
      });
    }
    const params = decodeParams(match.template, match.segments);
    const authorization = request.headers.get('authorization');
    const ticket = route.ticket && !authorization ? url.searchParams.get('ticket') : null;
    const ctx =
      route.auth !== 'key'
        ? undefined
        : ticket !== null
          ? await authenticateTicket(services, ticket, info)
          : await authenticateRequest(services, authorization, info);
    const body = route.body ? parseInput(route.body, await readJsonObject(request, options.MAX_BODY_BYTES, route.bodyTypes)) : undefined;
    const query = route.query ? parseInput(route.query, readQuery(url)) : undefined;
    const disconnect = () => request.disconnect();
    const result = await route.handle({ request, params, body, query, ctx, disconnect } as never);
    if (result instanceof Reply) return result;
    return route.status === 204 ? new Reply({ status: 204 }) : new Reply({ status: route.status, json: result });
  }

  return async (request) => {
    try {
      return toResponse(await handle(request), request);
    } catch (error) {
      if (!(error instanceof AppError) && !isDatabaseUnavailable(error)) {
        logger.error({ err: describeError(error) }, 'unexpected error');
      }
      return errorResponse(toAppError(error));
    }
  };
}

function toResponse(reply: Reply, request: HttpRequest): HttpResponse {
  const { status = 200, json, text, stream } = reply.init;
  const headers = lowerCase(reply.init.headers);
  if (reply.init.body) return { status, headers, body: reply.init.body };
  if (stream) {
    headers['content-type'] ??= JSON_TYPE;
    return { status, headers, body: stream };
  }
  let body: string | null = null;
  if (json !== undefined) {
    body = JSON.stringify(json);
    headers['content-type'] ??= JSON_TYPE;
  } else if (text !== undefined) {
    body = text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  // Streamed answers (every tenant, an event stream) are produced as they go: no tag for them.
  if ((request.method === 'GET' || request.method === 'HEAD') && status === 200 && body !== null) {
    // A poller sends back the ETag it holds and gets 304 with no body while nothing changed. The
    // answer depends on the key, so shared caches must not keep it, and clients revalidate each time.
    const etag = strongEtag(body);
    headers.etag = etag;
    headers['cache-control'] ??= 'private, no-cache';
    const held = matchingEtag(request.headers.get('if-none-match'), etag);
    if (held) return { status: 304, headers: { etag: held, 'cache-control': headers['cache-control'], vary: 'Accept-Encoding' } };
  }
  // HEAD is GET without the body (the writer leaves it out).
  return { status, headers, body };
}

/** A strong validator: the SHA-256 of the body (the identity encoding; compression adds a suffix). */
function strongEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

/**
 * The tag of If-None-Match that names `etag` (weak comparison, as RFC 9110 §13.1.2 says for this
 * header; an encoded form such as `"…-br"` names the same body), or undefined.
 */
function matchingEtag(ifNoneMatch: string | null, etag: string): string | undefined {
  if (!ifNoneMatch) return undefined;
  if (ifNoneMatch.trim() === '*') return etag;
  for (const raw of ifNoneMatch.split(',')) {
    const tag = raw.trim().replace(/^W\//, '');
    if (identityEtag(tag) === etag) return tag;
  }
  return undefined;
}

