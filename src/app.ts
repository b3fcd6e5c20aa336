import { randomUUID } from 'node:crypto';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.js';
import { authenticateRequest, type RequestContext, type Services } from './context.js';
import { toAppError } from './errors.js';
import { createMaskError, toGraphQLError, useErrorContract } from './graphql/errors.js';
import { schema } from './graphql/schema.js';
import { describeError, type Logger } from './logger.js';
import { useRestRouter } from './rest/router.js';
import { requestInfo } from './request-info.js';

export type AppOptions = Pick<Config, 'CORS_ORIGINS' | 'GRAPHQL_INTROSPECTION' | 'METRICS'>;
export type App = YogaServerInstance<Record<string, never>, RequestContext>;

/** Builds the HTTP application: GraphQL at /graphql, the REST routes beside it. Opens no port. */
export function createApp(services: Services, logger: Logger, options: AppOptions): App {
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Yoga's built-in health check answers any URL that merely ends in its endpoint (a customer
    // named "health" included); move it out of reach so /health and /ready are the REST router's.
    healthCheckEndpoint: `/.yoga-health-${randomUUID()}`,
    cors: options.CORS_ORIGINS.length
      ? { origin: options.CORS_ORIGINS, credentials: false, allowedHeaders: ['authorization', 'content-type', 'x-request-id'] }
      : false,
    logging: {
      debug: (...args) => logger.debug({ yoga: args.map(String).join(' ') }),
      info: (...args) => logger.info({ yoga: args.map(String).join(' ') }),
      warn: (...args) => logger.warn({ yoga: args.map(String).join(' ') }),
      // Yoga logs the errors it masks; the mask hook below has logged them already, safely.
      error: () => {},
    },
    maskedErrors: {
      maskError: createMaskError((error) => logger.error({ err: describeError(error) }, 'unexpected error')),
    },
    context: async ({ request }) => {
      try {
        return await authenticateRequest(services, request);
      } catch (error) {
        throw toGraphQLError(toAppError(error));
      }
    },
    plugins: [
      useRequestLog(logger),
      useErrorContract(),
      useRestRouter(services, logger, options),
      ...(options.GRAPHQL_INTROSPECTION ? [] : [useDisableIntrospection()]),
    ],
  });
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/**
 * One structured line per request: method, route, status, duration, the key's keyId and a request
 * id (the caller's X-Request-Id when it is sane, else a new one), echoed in the response.
 */
function useRequestLog(logger: Logger): Plugin {
  return {
    onRequest({ request, url }) {
      const info = requestInfo(request);
      const incoming = request.headers.get('x-request-id');
      info.requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      info.start = performance.now();
      info.route ??= url.pathname === '/graphql' ? '/graphql' : undefined;
    },
    onResponse({ request, response }) {
      const info = requestInfo(request);
      info.requestId ??= randomUUID();
      response.headers.set('x-request-id', info.requestId);
      const status = response.status;
      logger[status >= 500 ? 'error' : 'info']({
        method: request.method,
        route: info.route ?? 'unmatched',
        status,
        ms: info.start === undefined ? undefined : Math.round((performance.now() - info.start) * 100) / 100,
        keyId: info.keyId,
        requestId: info.requestId,
      });
    },
  };
}
