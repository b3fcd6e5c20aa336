import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/**
 * OpenTelemetry tracing's hooks, off unless the process started tracing (boot/tracing.ts: an OTLP
 * endpoint is configured with the standard variables). Off, nothing here runs on a request: every
 * instrumented place asks `activeTracer()` once, when it is built, and keeps the untraced path when
 * it is undefined.
 *
 * What is traced: one server span per request (both doors, named by method and route, parented to
 * an incoming `traceparent`), the GraphQL phases under it (graphql/tracing.ts), a client span per SQL
 * statement and per Redis command, read-cache hits and misses as span events, and each event a
 * stream delivers. Attributes hold routes, statuses, operation names and parameterised SQL: never a
 * header, a body, a query string, a path with its values, or a bound parameter, so no secret or key
 * hash can reach the exporter.
 */

let tracer: Tracer | undefined;

/** The tracer when tracing is on; undefined otherwise. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

/** Turns the hooks below on with the tracer the process started (boot/tracing.ts), or off again. */
export function useTracer(started: Tracer | undefined): void {
  tracer = started;
}

/** The context an incoming request's `traceparent` (and `tracestate`) names, or the root. */
export function incomingContext(headers: { get(name: string): string | null }): Context {
  return propagation.extract(ROOT_CONTEXT, headers, {
    get: (carrier, key) => carrier.get(key) ?? undefined,
    keys: () => ['traceparent', 'tracestate'],
  });
}

/** The W3C `traceresponse` value naming a span: `00-<trace id>-<span id>-<flags>`. */
export function traceResponse(span: Span): string | undefined {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!trace.isSpanContextValid(span.spanContext())) return undefined;
  return `00-${traceId}-${spanId}-0${traceFlags & 1}`;
}

/** The active span's ids for a log line; empty when nothing is traced. */
export function logTraceIds(): Record<string, string> {
  if (!tracer) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * Records a read-cache lookup on the active span (an event, with what was found and what was not),
 * when the cache is serving: a bypassed cache (its feed down) looks nothing up.
 */
export function recordCacheLookup(cache: { readonly serving: boolean }, kind: 'customer', hits: number, misses: number): void {
  if (!tracer || hits + misses === 0 || !cache.serving) return;
  trace.getActiveSpan()?.addEvent('cache', { 'cache.kind': kind, 'cache.hits': hits, 'cache.misses': misses });
}

/**
 * Wraps a pg client's `query` so that each statement is a client span under the active one. Only
 * the statement's text is recorded (parameterised: every value is a bound parameter), never values.
 */
export function traceSqlClient(client: { query: (...args: any[]) => any }): void {
  const t = tracer;
  if (!t) return;
  const query = client.query;
  client.query = function tracedQuery(this: unknown, ...args: any[]) {
    const text: unknown = typeof args[0] === 'string' ? args[0] : args[0]?.text;
    if (typeof text !== 'string') return query.apply(this, args);
    const span = t.startSpan(sqlSpanName(text), {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'postgresql', 'db.query.text': text.length > 2000 ? `${text.slice(0, 2000)}…` : text },
    });
    const end = (error?: unknown) => {
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as { code?: string }).code ?? 'error' });
      span.end();
    };
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = function (this: unknown, error: unknown, result: unknown) {
        end(error);
        return callback.call(this, error, result);
      };
      return query.apply(this, args);
    }
    const result = query.apply(this, args);
    if (result && typeof result.then === 'function') result.then(() => end(), end);
    else end();
    return result;
  };
}

/** `SELECT`, `INSERT`, …: the statement's first word, as the span's name. */
function sqlSpanName(text: string): string {
  const word = /^\s*(?:WITH\b[\s\S]*?\)\s*)?([A-Za-z]+)/.exec(text)?.[1];
  return word ? word.toUpperCase() : 'postgresql';
}

/**
 * Wraps a Redis client's `sendCommand` so that each command is a client span: its name only (the
 * keys hold key ids, the arguments nothing a reader needs).
 */
export function traceRedisClient(redis: { sendCommand: (...args: any[]) => any }): void {
  const t = tracer;
  if (!t) return;
  const send = redis.sendCommand;
  redis.sendCommand = function tracedSend(this: unknown, command: { name?: string; promise?: Promise<unknown> }, ...rest: any[]) {
    const span = t.startSpan(`redis ${command?.name ?? 'command'}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'redis', 'db.operation.name': command?.name ?? 'unknown' },
    });
    const result = send.call(this, command, ...rest);
    const settled = command?.promise ?? result;
    if (settled && typeof settled.then === 'function') {
      settled.then(
        () => span.end(),
        () => {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
      );
    } else span.end();
    return result;
  };
}

/** A span for one event a stream delivers, under the stream's own context. */
export function traceDelivery(parent: Context | undefined, attributes: Record<string, string | number>): void {
  if (!tracer || !parent) return;
  tracer.startSpan('event delivered', { kind: SpanKind.PRODUCER, attributes }, parent).end();
}

/** The context a stream opened in, to parent the spans of what it delivers later. */
export function streamContext(): Context | undefined {
  return tracer ? context.active() : undefined;
}
