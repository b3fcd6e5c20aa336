import { randomUUID } from 'node:crypto';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { configDefaults, type Config } from './config.js';
import { authenticateRequest, introspectionContext, type RequestContext, type Services } from './context.js';
import { toAppError } from './errors.js';
import { createMaskError, toGraphQLError, useErrorContract } from './graphql/errors.js';
import { schema } from './graphql/schema.js';
import { useOperationLimits, useRequestBody } from './graphql/limits.js';
import { describeError, type Logger } from './logger.js';
import { useRequestLog } from './request-log.js';
import { useRestRouter } from './rest/router.js';
import { useCompression } from './compression.js';
import { graphiqlOptions, renderOfflineGraphiQL } from './graphql/graphiql.js';
import { isIntrospectionOnly } from './graphql/introspection.js';
import { loadTrustedDocuments, useTrustedDocuments } from './graphql/trusted-documents.js';

const CORS_MAX_AGE_SECONDS = 600;

/** The options createApp may be given without; config.ts's defaults apply. */
const DEFAULTED = [
  'CORS_ALLOWED_HEADERS',
  'TRUSTED_DOCUMENTS',
  'MAX_BODY_BYTES',
  'GRAPHQL_MAX_DEPTH',
  'GRAPHQL_MAX_ALIASES',
  'GRAPHQL_MAX_DIRECTIVES',
  'GRAPHQL_MAX_TOKENS',
  'GRAPHQL_MAX_COST',
] as const satisfies (keyof Config)[];

export type AppOptions = Pick<Config, 'CORS_ORIGINS' | 'GRAPHQL_INTROSPECTION' | 'METRICS' | (typeof DEFAULTED)[number]>;
/** What createApp needs: the options it is not given are config.ts's defaults. */
export type AppInput = Omit<AppOptions, (typeof DEFAULTED)[number]> & Partial<AppOptions>;
export type App = YogaServerInstance<Record<string, never>, RequestContext>;

/** Builds the HTTP application: GraphQL at /graphql, the REST routes beside it. Opens no port. */
export function createApp(services: Services, logger: Logger, input: AppInput): App {
  const options = { ...input } as AppOptions;
  for (const name of DEFAULTED) (options as Record<string, unknown>)[name] = input[name] ?? configDefaults[name];
  const trustedDocuments = options.TRUSTED_DOCUMENTS ? loadTrustedDocuments(options.TRUSTED_DOCUMENTS) : undefined;
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // GraphiQL on GET /graphql from a browser, served whole by the service (no CDN).
    graphiql: graphiqlOptions,
    renderGraphiQL: renderOfflineGraphiQL,
    // GraphQL over HTTP's persisted documents name theirs with `documentId`.
    extraParamNames: trustedDocuments ? ['documentId'] : [],
    // No file uploads here: multipart bodies would only be a way around the body checks below.
    multipart: false,
    // useRequestBody (below) enforces MAX_BODY_BYTES for /graphql, with the contract's 413.
    maxRequestBodySize: false,
    // Yoga's built-in health check answers any URL that merely ends in its endpoint (a customer
    // named "health" included); move it out of reach so /health and /ready are the REST router's.
    healthCheckEndpoint: `/.yoga-health-${randomUUID()}`,
    cors: options.CORS_ORIGINS.length
      ? {
          origin: options.CORS_ORIGINS,
          credentials: false,
          allowedHeaders: options.CORS_ALLOWED_HEADERS,
          // Browsers cache a preflight this many seconds (Chromium caps it at 7200).
          maxAge: CORS_MAX_AGE_SECONDS,
          // What a browser client may read besides the body.
          exposedHeaders: ['x-request-id', 'x-modified-at', 'retry-after', 'link', 'location'],
        }
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
    context: async ({ request, params }) => {
      // Introspection alone reaches no resolver, so GraphiQL's Docs and autocompletion (and codegen)
      // work before a key is entered; anything else needs one.
      if (options.GRAPHQL_INTROSPECTION && isIntrospectionOnly(params.query, params.operationName)) {
        return introspectionContext(services);
      }
      try {
        return await authenticateRequest(services, request);
      } catch (error) {
        throw toGraphQLError(toAppError(error));
      }
    },
    plugins: [
      useRequestLog(logger),
      useCompression(),
      useErrorContract(),
      useRestRouter(services, logger, options),
      useRequestBody(options.MAX_BODY_BYTES),
      useOperationLimits(options),
      ...(trustedDocuments ? [useTrustedDocuments(trustedDocuments)] : []),
      ...(options.GRAPHQL_INTROSPECTION ? [] : [useDisableIntrospection()]),
    ],
  });
}
