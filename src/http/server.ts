import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError, toAppError } from '../kernel/errors.js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { activeTracer, incomingContext, traceResponse } from '../kernel/telemetry.js';
import { createCompression } from './compression.js';
import { createCors } from './cors.js';
import { createRequestLog, requestId } from './log.js';
import type { Metrics } from './metrics.js';
import { fromFetch, fromNode, type HttpRequest, type RequestInfo } from './request.js';
import { errorResponse, toFetchResponse, writeNode, type HttpResponse } from './response.js';

export type Door = (request: HttpRequest) => Promise<HttpResponse>;

/** Yoga serves GraphQL here, and the federation subgraph at /subgraph; every other path is the REST door's. */
const GRAPHQL_PATHS = new Set(['/graphql', '/graphql/']);
const SUBGRAPH_PATHS = new Set(['/subgraph', '/subgraph/']);

/**
 * The one front door of both doors, on node:http: it gives each request its id, answers CORS
 * preflights, sends GraphQL paths to the GraphQL door and everything else to the REST door, adds
 * the CORS and request-id headers, compresses, and writes the log line and the metrics. The doors
 * read bodies through http/body.ts and answer errors in their own shapes; a failure of theirs to
 * answer at all becomes the error envelope here.
 */
export function createFrontDoor(parts: {
  graphql: Door;
  subgraph: Door;
  rest: Door;
  logger: Logger;
  metrics?: Metrics;
  cors: { origins: string[]; allowedHeaders: string[] };
}) {
  const { graphql, subgraph, rest, logger } = parts;
  const cors = createCors(parts.cors.origins, parts.cors.allowedHeaders);
  const compress = createCompression();
  const log = createRequestLog(logger, parts.metrics);

  async function answer(request: HttpRequest): Promise<HttpResponse> {
    let response: HttpResponse;
    try {
      if (cors?.isPreflight(request)) response = { status: 204, headers: { 'content-length': '0' } };
      else {
        const path = request.url.pathname;
        response = await (GRAPHQL_PATHS.has(path) ? graphql : SUBGRAPH_PATHS.has(path) ? subgraph : rest)(request);
      }
      const corsHeaders = cors?.headers(request);
      if (corsHeaders) Object.assign(response.headers, corsHeaders);
      response = await compress(request.headers.get('accept-encoding'), response);
    } catch (error) {
      logger.error({ err: describeError(error) }, 'unexpected error');
      response = errorResponse(toAppError(error));
    }
    response.headers['x-request-id'] = request.info.requestId;
    log(request.method, request.info, response.status);
    return response;
  }

  const newInfo = (incomingId: string | null): RequestInfo => {
    const id = requestId(incomingId);
    return { requestId: id, callerId: id === incomingId, start: performance.now() };
  };

  // With tracing on, each request is a server span (kernel/telemetry.ts); off, `answer` is called as is.
  const tracer = activeTracer();
  const handle = tracer
    ? (request: HttpRequest): Promise<HttpResponse> =>
        tracer.startActiveSpan(
          request.method,
          // Never the path's values or query (a name, a mistaken secret): the route template, once matched.
          { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.scheme': request.url.protocol.slice(0, -1) } },
          incomingContext(request.headers),
          async (span) => {
            try {
              const response = await answer(request);
              const route = request.info.route ?? 'unmatched';
              span.updateName(`${request.method} ${route}`);
              span.setAttributes({ 'http.route': route, 'http.response.status_code': response.status });
              if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
              const value = traceResponse(span);
              if (value) response.headers.traceresponse = value;
              return response;
            } finally {
              span.end();
            }
          },
        )
    : answer;

  function app(req: IncomingMessage, res: ServerResponse): void {
    const id = req.headers['x-request-id'];
    const request = fromNode(req, res, newInfo(typeof id === 'string' ? id : null));
    void handle(request).then((response) => writeNode(req, res, response));
  }
  app.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const fetchRequest = input instanceof Request && !init ? input : new Request(input, init);
    const request = fromFetch(fetchRequest, newInfo(fetchRequest.headers.get('x-request-id')));
    return toFetchResponse(request.method, await handle(request));
  };
  return app;
}
