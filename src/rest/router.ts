import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { AppOptions } from '../app.js';
import { identityEtag } from '../compression.js';
import { authenticateRequest, type Services } from '../context.js';
import { parseInput } from '../customers/validation.js';
import { AppError, badRequest, isDatabaseUnavailable, notFound, toAppError } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import { requestInfo } from '../request-info.js';
import { JSON_TYPE, Reply, errorReply, readJsonObject } from './http.js';
import { Metrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { createRoutes, type Route } from './routes.js';

/** Yoga serves GraphQL here (app.ts); every other path is the router's. */
const GRAPHQL_PATHS = new Set(['/graphql', '/graphql/']);

/**
 * The REST compatibility routes, served beside GraphQL as a Yoga plugin: `onRequest` matches the
 * path against the route table and ends the request with the route's answer. Every failure,
 * including the router's own (unknown path, wrong method, bad body), is the error envelope.
 */
export function useRestRouter(services: Services, logger: Logger, options: AppOptions): Plugin {
  const metrics = options.METRICS ? new Metrics(services.pool, services.statements, () => services.rateLimiter.mode(), () => services.readCache.stats()) : undefined;
  let document: unknown;
  const routes: Route[] = createRoutes({
    services,
    metrics,
    openApi: () => (document ??= openApiDocument(routes, options.MAX_BODY_BYTES)),
  });
  const table = new RouteTable(routes);

  async function handle(request: Request, url: URL, disconnect: () => void): Promise<Reply> {
    const info = requestInfo(request);
    try {
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
      const ctx = route.auth === 'key' ? await authenticateRequest(services, request) : undefined;
      const body = route.body
        ? parseInput(route.body, await readJsonObject(request, options.MAX_BODY_BYTES, route.bodyTypes))
        : undefined;
      const query = route.query ? parseInput(route.query, readQuery(url)) : undefined;
      const result = await route.handle({ request, params, body, query, ctx, disconnect } as never);
      if (result instanceof Reply) return result;
      return route.status === 204 ? new Reply({ status: 204 }) : new Reply({ status: route.status, json: result });
    } catch (error) {
      if (!(error instanceof AppError) && !isDatabaseUnavailable(error)) {
        logger.error({ err: describeError(error) }, 'unexpected error');
      }
      return errorReply(toAppError(error));
    }
  }

  return {
    async onRequest({ request, url, endResponse, fetchAPI, serverContext }) {
      if (GRAPHQL_PATHS.has(url.pathname)) return;
      // On node:http the server context holds the response: destroying it ends the connection.
      const res = (serverContext as { res?: { destroy(): void } } | undefined)?.res;
      const disconnect = () => res?.destroy();
      const reply = await handle(request, url, disconnect);
      endResponse(toResponse(fetchAPI.Response, reply, request, disconnect));
    },
    onResponse({ request, response }) {
      if (!metrics) return;
      const info = requestInfo(request);
      const seconds = info.start === undefined ? 0 : (performance.now() - info.start) / 1000;
      metrics.observe(request.method, info.route ?? 'unmatched', response.status, seconds);
    },
  };
}

function toResponse(ResponseClass: typeof Response, reply: Reply, request: Request, disconnect: () => void): Response {
  const { status = 200, json, text, stream } = reply.init;
  const head = request.method === 'HEAD';
  if (reply.init.body || stream) requestInfo(request).streamed = true;
  const headers: Record<string, string> = { ...reply.init.headers };
  let body: string | ReadableStream<Uint8Array> | null = null;
  if (reply.init.body) {
    if (head) void reply.init.body.cancel();
    else body = reply.init.body;
  } else if (stream) {
    headers['content-type'] ??= JSON_TYPE;
    if (head) {
      void stream[Symbol.asyncIterator]().return?.();
      return new ResponseClass(null, { status, headers });
    }
    body = readableOf(stream, disconnect);
  } else if (json !== undefined) {
    body = JSON.stringify(json);
    headers['content-type'] ??= JSON_TYPE;
  } else if (text !== undefined) {
    body = text;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  const read = request.method === 'GET' || request.method === 'HEAD';
  // Streamed answers (every tenant, an event stream) are produced as they go: no tag for them.
  if (read && status === 200 && typeof body === 'string') {
    // A poller sends back the ETag it holds and gets 304 with no body while nothing changed. The
    // answer depends on the key, so shared caches must not keep it, and clients revalidate each time.
    const etag = strongEtag(body);
    headers.etag = etag;
    headers['cache-control'] ??= 'private, no-cache';
    const held = matchingEtag(request.headers.get('if-none-match'), etag);
    if (held) return new ResponseClass(null, { status: 304, headers: { etag: held, 'cache-control': headers['cache-control'], vary: 'Accept-Encoding' } });
  }
  // HEAD is GET without the body.
  return new ResponseClass(head ? null : body, { status, headers });
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

/** A byte stream that pulls the next piece of text only when the client has taken the last one. */
function readableOf(pieces: AsyncIterable<string>, disconnect: () => void): ReadableStream<Uint8Array> {
  const iterator = pieces[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch {
        // The status line has gone: all that can be said now is that the answer is cut short, so
        // the connection is ended mid-body (an errored body would escape the adapter uncaught).
        controller.close();
        disconnect();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

interface Match {
  template: string;
  /** The raw (still percent-encoded) segments of the request path. */
  segments: string[];
  methods: Map<string, Route>;
  /** The `Allow` header of the path. */
  allow: string;
}

/**
 * Paths are matched on their raw segments, split on `/` before any decoding, so an encoded `/`
 * (`%2F`) in a customer's name stays inside its segment. A parameter matches any non-empty segment.
 */
class RouteTable {
  private readonly paths: { template: string; parts: string[]; methods: Map<string, Route>; allow: string }[] = [];

  constructor(routes: Route[]) {
    for (const route of routes) {
      let path = this.paths.find((p) => p.template === route.path);
      if (!path) {
        path = { template: route.path, parts: route.path.split('/').slice(1), methods: new Map(), allow: '' };
        this.paths.push(path);
      }
      if (path.methods.has(route.method)) throw new Error(`Two routes for ${route.method} ${route.path}`);
      path.methods.set(route.method, route);
    }
    for (const path of this.paths) {
      const methods = [...path.methods.keys()];
      if (methods.includes('GET')) methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
      path.allow = methods.join(', ');
    }
  }

  match(pathname: string): Match | undefined {
    const segments = pathname.split('/').slice(1);
    for (const path of this.paths) {
      if (path.parts.length !== segments.length) continue;
      const fits = path.parts.every((part, i) => (isParam(part) ? segments[i] !== '' : part === segments[i]));
      if (fits) return { template: path.template, segments, methods: path.methods, allow: path.allow };
    }
    return undefined;
  }
}

const isParam = (part: string) => part.startsWith('{') && part.endsWith('}');

/** The path parameters, each segment URI-decoded exactly once. */
function decodeParams(template: string, segments: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  template
    .split('/')
    .slice(1)
    .forEach((part, i) => {
      if (!isParam(part)) return;
      const raw = segments[i]!;
      try {
        params[part.slice(1, -1)] = decodeURIComponent(raw);
      } catch {
        throw badRequest(`The path segment "${raw}" is not valid percent-encoded UTF-8`);
      }
    });
  return params;
}

const DECIMAL = /^[0-9]+$/;

/** The query string as an object for the route's schema: decimal values become numbers; a repeated name is refused. */
function readQuery(url: URL): Record<string, string | number> {
  const query: Record<string, string | number> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    if (values.length > 1) throw badRequest(`The query parameter "${name}" may be given once`);
    const value = values[0]!;
    query[name] = DECIMAL.test(value) ? Number(value) : value;
  }
  return query;
}
