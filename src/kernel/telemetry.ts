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
import type { Sampler, TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured with the standard variables
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). Off, nothing here runs on a
 * request: every instrumented place asks `activeTracer()` once, when it is built, and keeps the
 * untraced path when it is undefined.
 *
 * What is traced: one server span per request (both doors, named by method and route, parented to
 * an incoming `traceparent`), the GraphQL phases under it (graphql/tracing.ts), a client span per SQL
 * statement and per Redis command, read-cache hits and misses as span events, and each event a
 * stream delivers. Attributes hold routes, statuses, operation names and parameterised SQL: never a
 * header, a body, a query string, a path with its values, or a bound parameter, so no secret or key
 * hash can reach the exporter.
 */

let tracer: Tracer | undefined;
let provider: TracerProvider | undefined;

export const TRACER_NAME = 'customer-api-gateway';

/** The tracer when tracing is on; undefined otherwise. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

type Env = Record<string, string | undefined>;

/** Whether the environment asks for traces: an OTLP endpoint, and the SDK not disabled. */
export function tracingRequested(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER !== undefined && !['otlp', ''].includes(env.OTEL_TRACES_EXPORTER.trim().toLowerCase())) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Starts tracing as the environment says, once per process (before the database and the app are
 * built). The exporters read the endpoint, headers and timeout variables themselves; the protocol
 * (`http/protobuf`, the default, or `http/json`), the sampler (`OTEL_TRACES_SAMPLER`, `…_ARG`) and
 * the resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) are read here.
 */
export async function startTracing(env: Env = process.env): Promise<Tracer | undefined> {
  if (tracer || !tracingRequested(env)) return tracer;
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported here; use http/protobuf or http/json`);
  }
  // The SDK, its exporters and their protobuf code are loaded only when tracing is on: a service
  // that does not trace does not even hold them.
  const [sdk, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, resources, exporters] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const exporter = new exporters.OTLPTraceExporter();
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'customer-api-gateway' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  provider = new sdk.TracerProvider({
    resource,
    sampler: samplerFrom(sdk, env),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...batchOptions(env) })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracer = provider.getTracer(TRACER_NAME);
  return tracer;
}

/** Sends what is buffered and stops (shutdown). */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown().catch(() => {});
}

/** Sends what is buffered now (tests). */
export async function flushTraces(): Promise<void> {
  await provider?.forceFlush();
}

/** The batch processor's OTEL_BSP_* settings that are set (the SDK's defaults otherwise). */
function batchOptions(env: Env) {
  const number = (name: string) => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const options = {
    scheduledDelayMillis: number('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: number('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: number('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** OTEL_TRACES_SAMPLER as the specification names them; parentbased_always_on by default. */
function samplerFrom(sdk: typeof import('@opentelemetry/sdk-trace'), env: Env): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = sdk;
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const ratio = () => {
    const value = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
    return Number.isFinite(value) && value >= 0 && value <= 1 ? value : 1;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      throw new Error(`OTEL_TRACES_SAMPLER: "${name}" is not a sampler this service knows`);
  }
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
