import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import type { Sampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { activeTracer, useTracer } from '../kernel/telemetry.js';

/**
 * Starting and stopping OpenTelemetry tracing for the process: the SDK, its exporter, sampler and
 * resource, read from the standard OTEL_* variables. What is traced, once a tracer runs, is
 * kernel/telemetry.ts's.
 */

let provider: TracerProvider | undefined;

export const TRACER_NAME = 'customer-api-gateway';

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
  if (activeTracer() || !tracingRequested(env)) return activeTracer();
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
  const tracer = provider.getTracer(TRACER_NAME);
  useTracer(tracer);
  return tracer;
}

/**
 * Sends what is buffered and stops (shutdown): the hooks are turned off and the global context
 * manager, propagator and provider released, so nothing made afterwards in this process traces.
 */
export async function stopTracing(): Promise<void> {
  if (!provider) return;
  await provider.shutdown().catch(() => {});
  provider = undefined;
  useTracer(undefined);
  trace.disable();
  context.disable();
  propagation.disable();
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
