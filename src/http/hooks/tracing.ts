import { SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import { incomingContext, traceResponse } from '../../kernel/telemetry.js';
import type { FrontDoorHook } from '../pipeline.js';
import type { HttpRequest } from '../request.js';
import type { HttpResponse } from '../response.js';

/**
 * Each request a server span (kernel/telemetry.ts), parented to the caller's `traceparent` and
 * active around everything after it (the doors' spans and SQL under it, the log lines naming it):
 * named by the route template once matched (never the path's values or query: a name, a mistaken
 * secret), with the status, an error status for a 5xx, and the `traceresponse` header. Listed only
 * while tracing is on.
 */
export function tracingHook(tracer: Tracer): FrontDoorHook {
  const ended = (request: HttpRequest, span: Span, response: HttpResponse): HttpResponse => {
    const route = request.info.route ?? 'unmatched';
    span.updateName(`${request.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': response.status });
    if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    const value = traceResponse(span);
    if (value) response.headers.traceresponse = value;
    return response;
  };
  return {
    name: 'tracing',
    around(request, next) {
      return tracer.startActiveSpan(
        request.method,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.scheme': request.url.protocol.slice(0, -1) } },
        incomingContext(request.headers),
        async (span) => {
          try {
            return ended(request, span, await next(request));
          } finally {
            span.end();
          }
        },
      );
    },
  };
}
