import type { IncomingMessage, ServerResponse } from 'node:http';
import { appOptions, type AppInput } from '../kernel/config.js';
import { activeTracer } from '../kernel/telemetry.js';
import { createGraphQLDoor, SUBGRAPH } from '../graphql/door.js';
import { createFrontDoor, type FrontDoorHook } from '../http/server.js';
import { accessLogHook } from '../http/hooks/access-log.js';
import { compressionHook } from '../http/hooks/compression.js';
import { corsHook } from '../http/hooks/cors.js';
import { metricsHook } from '../http/hooks/metrics.js';
import { requestIdHook } from '../http/hooks/request-id.js';
import { tracingHook } from '../http/hooks/tracing.js';
import { Metrics } from '../http/metrics.js';
import type { Logger } from './logger.js';
import { createRestDoor } from '../rest/router.js';
import type { Services } from './services.js';

export type { AppInput, AppOptions } from '../kernel/config.js';

/**
 * The HTTP application: a node:http request listener (`createServer(app)`), which can also be
 * called in-process with the Fetch API (`app.fetch(url, init)`, as the tests do).
 */
export interface App {
  (req: IncomingMessage, res: ServerResponse): void;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
}

/** Builds the HTTP application: GraphQL at /graphql, its federation subgraph at /subgraph, the REST routes beside them. Opens no port. */
export function createApp(services: Services, logger: Logger, input: AppInput): App {
  const options = appOptions(input);
  const metrics = options.METRICS ? new Metrics(services.pool, services.statements, () => services.rateLimiter.mode(), () => services.readCache.stats()) : undefined;
  const tracer = activeTracer();
  const cors = corsHook(options.CORS_ORIGINS, options.CORS_ALLOWED_HEADERS);
  // The front door, in order: each stage (http/pipeline.ts) runs the hooks that have it in this order.
  const hooks: FrontDoorHook[] = [
    ...(tracer ? [tracingHook(tracer)] : []), //  around: the server span, active for all below; traceresponse
    requestIdHook, //                              onRequest: the request's id; onResponse: X-Request-Id
    ...(cors ? [cors] : []), //                   onRequest: a preflight's 204; onSend: the CORS headers
    compressionHook(), //                          onSend: br/gzip above 1 KiB, never a streamed answer
    accessLogHook(logger), //                      onResponse: the log line
    ...(metrics ? [metricsHook(metrics)] : []), // onResponse: the request metrics
  ];
  return createFrontDoor({
    graphql: createGraphQLDoor(services, logger, options),
    subgraph: createGraphQLDoor(services, logger, options, SUBGRAPH),
    rest: createRestDoor(services, logger, options, metrics),
    logger,
    hooks,
  });
}
