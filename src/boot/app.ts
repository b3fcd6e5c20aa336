import type { IncomingMessage, ServerResponse } from 'node:http';
import { appOptions, type AppInput } from '../kernel/config.js';
import { createGraphQLDoor, SUBGRAPH } from '../graphql/door.js';
import { createFrontDoor } from '../http/server.js';
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
  return createFrontDoor({
    graphql: createGraphQLDoor(services, logger, options),
    subgraph: createGraphQLDoor(services, logger, options, SUBGRAPH),
    rest: createRestDoor(services, logger, options, metrics),
    logger,
    metrics,
    cors: { origins: options.CORS_ORIGINS, allowedHeaders: options.CORS_ALLOWED_HEADERS },
  });
}
