import { randomUUID } from 'node:crypto';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { createYoga } from 'graphql-yoga';
import type { AppOptions } from '../kernel/config.js';
import { describeError, toAppError } from '../kernel/errors.js';
import { decodeUtf8, readBody } from '../http/body.js';
import type { HttpRequest } from '../http/request.js';
import type { HttpResponse } from '../http/response.js';
import type { Logger } from 'pino';
import { redactSecrets } from '../kernel/secrets.js';
import { authenticateRequest, introspectionContext, type RequestContext } from '../domain/request-context.js';
import type { Services } from '../domain/services.js';
import { createMaskError, toGraphQLError, useErrorContract } from './errors.js';
import { graphiqlOptions, renderOfflineGraphiQL } from './graphiql.js';
import { isIntrospectionOnly } from './introspection.js';
import { useJit } from './jit.js';
import { useNestingLimit } from './nesting-limit.js';
import { useOperationLimits } from './operation-limits.js';
import { useRequestBody } from './request-body.js';
import type { GraphQLServerContext } from './server-context.js';
import { schema, subgraphSchema } from './schema.js';
import { MULTIPART_SUBSCRIPTION_TYPE, sseToMultipart, wantsMultipartSubscription } from './multipart-subscriptions.js';
import { loadTrustedDocuments, useTrustedDocuments } from './trusted-documents.js';
import { useTracing } from './tracing.js';
import { activeTracer } from '../kernel/telemetry.js';

/** Answers of these types are streamed (subscriptions over SSE, incremental delivery). */
const STREAMED = /^(text\/event-stream|multipart\/mixed)/;

/** Where a GraphQL door answers and with which schema. */
export interface GraphQLEndpoint {
  path: string;
  schema: typeof schema;
  /** GraphiQL on GET from a browser. */
  graphiql: boolean;
  /** Repeated documents compiled with graphql-jit (when GRAPHQL_JIT is on). */
  jit: boolean;
  /** `@defer` and `@stream` answered incrementally (multipart/mixed or SSE). */
  incremental: boolean;
}

/** What clients call. */
export const PUBLIC_GRAPHQL: GraphQLEndpoint = { path: '/graphql', schema, graphiql: true, jit: true, incremental: true };

/**
 * What a federation gateway calls: the same operations, plus `_entities` and `_service`. graphql-jit
 * is off here: `_entities` resolves its union through @apollo/subgraph's own type resolution, written
 * for graphql-js (a prototype saw compiled documents break it), and a gateway's few documents gain
 * little from compiling.
 */
export const SUBGRAPH: GraphQLEndpoint = { path: '/subgraph', schema: subgraphSchema, graphiql: false, jit: false, incremental: false };

/**
 * A GraphQL door: Yoga at the endpoint's path. The front door has read the body once, under
 * MAX_BODY_BYTES; Yoga parses it, checks the operation's limits, authenticates and executes. CORS,
 * compression, the request log and metrics are the front door's.
 */
export function createGraphQLDoor(
  services: Services,
  logger: Logger,
  options: AppOptions,
  endpoint: GraphQLEndpoint = PUBLIC_GRAPHQL,
): (request: HttpRequest) => Promise<HttpResponse> {
  const yoga = createGraphQLServer(services, logger, options, endpoint);

  return async (request) => {
    request.info.route = endpoint.path;
    const context: GraphQLServerContext = { info: request.info };
    let body: string | undefined;
    if (request.method === 'POST') {
      try {
        body = decodeUtf8(await readBody(request, options.MAX_BODY_BYTES));
      } catch (error) {
        context.bodyError = toAppError(error);
      }
    }
    // Apollo's multipart subscriptions: Yoga is asked for SSE, and its stream rewritten below.
    const multipart = request.method === 'POST' && wantsMultipartSubscription(request.headers.get('accept'));
    const headers = request.headers.all();
    if (multipart) headers.accept = 'text/event-stream';
    // Yoga reads a request's method, URL, headers and body text (its JSON and GraphQL parsers; file
    // uploads and its body-size check are off). It is handed a Request of its own Fetch API
    // (@whatwg-node/fetch's, which Yoga builds from a node request itself): over the front door's
    // parsed URL, a plain object of the headers (read as they are, not copied into a Headers map)
    // and the body read above, it costs about what a hand-made object would. (Being a Request, it
    // says `text/plain` for a body sent without a Content-Type, a type no parser of Yoga's takes, so
    // that is the same 415; and the length of its body where none was declared.)
    const yogaRequest = new yoga.fetchAPI.Request(request.url, { method: request.method, headers, body: body || null });
    const response = await yoga.handleRequest(yogaRequest, context);
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => (out[name.toLowerCase()] = value));
    if (!response.body) return { status: response.status, headers: out, body: null };
    if (multipart && /^text\/event-stream/.test(out['content-type'] ?? '')) {
      // Yoga's `content-encoding: none` is meant for SSE proxies; neither answer below is SSE.
      delete out['content-encoding'];
      if (response.status !== 200) {
        // Refused before it started (no key, another customer's events): Yoga's stream holds the
        // one result with the errors. It goes back as JSON with its status, as a query's refusal
        // would (Apollo Client reports it as the subscription's error).
        const result = /^data: (.*)$/m.exec(await response.text())?.[1] ?? '{"errors":[{"message":"The subscription was refused"}]}';
        return { status: response.status, headers: { ...out, 'content-type': 'application/json; charset=utf-8' }, body: result };
      }
      out['content-type'] = MULTIPART_SUBSCRIPTION_TYPE;
      return { status: 200, headers: out, body: sseToMultipart(response.body as ReadableStream<Uint8Array>) };
    }
    // Anything else (a 401, a 400 for a document that does not validate) goes back as Yoga wrote it.
    if (STREAMED.test(out['content-type'] ?? '')) return { status: response.status, headers: out, body: response.body as ReadableStream<Uint8Array> };
    return { status: response.status, headers: out, body: await response.text() };
  };
}

/**
 * The Yoga server behind a GraphQL door, with every plugin (error contract, body and operation
 * limits, trusted documents, introspection, graphql-jit, tracing). The WebSocket transport
 * (websocket.ts) runs its operations through one too, so that the same rules apply there.
 */
export function createGraphQLServer(services: Services, logger: Logger, options: AppOptions, endpoint: GraphQLEndpoint = PUBLIC_GRAPHQL) {
  const trustedDocuments = options.TRUSTED_DOCUMENTS ? loadTrustedDocuments(options.TRUSTED_DOCUMENTS) : undefined;
  const tracer = activeTracer();
  return createYoga<GraphQLServerContext, RequestContext>({
    schema: endpoint.schema,
    graphqlEndpoint: endpoint.path,
    landingPage: false,
    graphiql: endpoint.graphiql ? graphiqlOptions : false,
    renderGraphiQL: renderOfflineGraphiQL,
    // GraphQL over HTTP's persisted documents name theirs with `documentId`.
    extraParamNames: trustedDocuments ? ['documentId'] : [],
    // No file uploads here: multipart bodies would only be a way around the body checks.
    multipart: false,
    // The front door has read the body under MAX_BODY_BYTES (useRequestBody answers the contract's 413).
    maxRequestBodySize: false,
    // Yoga's built-in health check answers any URL that merely ends in its endpoint; keep it out of
    // reach (/health and /ready are the REST door's).
    healthCheckEndpoint: `/.yoga-health-${randomUUID()}`,
    // The front door's (src/http/hooks/cors.ts), for both doors alike.
    cors: false,
    logging: {
      // Yoga's text may quote a request (a document, variables): masked before it is logged.
      debug: (...args) => logger.debug({ yoga: redactSecrets(args.map(String).join(' ')) }),
      info: (...args) => logger.info({ yoga: redactSecrets(args.map(String).join(' ')) }),
      warn: (...args) => logger.warn({ yoga: redactSecrets(args.map(String).join(' ')) }),
      // Yoga logs the errors it masks; the mask hook below has logged them already, safely.
      error: () => {},
    },
    maskedErrors: {
      maskError: createMaskError((error) => logger.error({ err: describeError(error) }, 'unexpected error')),
    },
    context: async ({ request, params, info }) => {
      // Introspection alone reaches no resolver, so GraphiQL's Docs and autocompletion (and codegen)
      // work before a key is entered; anything else needs one.
      if (options.GRAPHQL_INTROSPECTION && isIntrospectionOnly(params.query, params.operationName)) {
        return introspectionContext(services);
      }
      try {
        return await authenticateRequest(services, request.headers.get('authorization'), info);
      } catch (error) {
        throw toGraphQLError(toAppError(error));
      }
    },
    plugins: [
      useErrorContract(),
      useRequestBody(options.MAX_BODY_BYTES),
      useOperationLimits(options),
      // After the operation limits: it wraps the parser with armor's token limit.
      useNestingLimit(options),
      // @defer and @stream (the public schema declares them; graphql-jit leaves such documents to graphql-js).
      ...(endpoint.incremental ? [useDeferStream()] : []),
      ...(trustedDocuments ? [useTrustedDocuments(trustedDocuments)] : []),
      ...(options.GRAPHQL_INTROSPECTION ? [] : [useDisableIntrospection()]),
      // Queries and mutations a client repeats run compiled (jit.ts; measured in bench/jit.ts).
      ...(options.GRAPHQL_JIT && endpoint.jit
        ? [useJit({ onCompileError: (errors) => logger.warn({ errors: errors.length }, 'graphql-jit could not compile a document') })]
        : []),
      // Last, so that it wraps the executor the others chose (tracing.ts).
      ...(tracer ? [useTracing(tracer)] : []),
    ],
  });
}
