import { randomUUID } from 'node:crypto';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, Lexer, Source, TokenKind, type ValidationContext } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { configDefaults, type Config } from './config.js';
import { authenticateRequest, type RequestContext, type Services } from './context.js';
import { AppError, toAppError } from './errors.js';
import { createMaskError, toGraphQLError, useErrorContract } from './graphql/errors.js';
import { schema } from './graphql/schema.js';
import { MAX_JSON_DEPTH } from './customers/validation.js';
import { describeError, type Logger } from './logger.js';
import { decodeUtf8, isUtf8Charset, payloadTooLarge, readBody, unsupportedCharset } from './rest/http.js';
import { useRestRouter } from './rest/router.js';
import { requestInfo } from './request-info.js';

const LIMITS = [
  'MAX_BODY_BYTES',
  'GRAPHQL_MAX_DEPTH',
  'GRAPHQL_MAX_ALIASES',
  'GRAPHQL_MAX_DIRECTIVES',
  'GRAPHQL_MAX_TOKENS',
  'GRAPHQL_MAX_COST',
] as const satisfies (keyof Config)[];

export type AppOptions = Pick<Config, 'CORS_ORIGINS' | 'GRAPHQL_INTROSPECTION' | 'METRICS' | (typeof LIMITS)[number]>;
/** What createApp needs: the limits it is not given are config.ts's defaults. */
export type AppInput = Omit<AppOptions, (typeof LIMITS)[number]> & Partial<AppOptions>;
export type App = YogaServerInstance<Record<string, never>, RequestContext>;

/** Builds the HTTP application: GraphQL at /graphql, the REST routes beside it. Opens no port. */
export function createApp(services: Services, logger: Logger, input: AppInput): App {
  const options = { ...input } as AppOptions;
  for (const limit of LIMITS) options[limit] = input[limit] ?? configDefaults[limit];
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
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
          allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
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
      useRequestBody(options.MAX_BODY_BYTES),
      useOperationLimits(options),
      ...(options.GRAPHQL_INTROSPECTION ? [] : [useDisableIntrospection()]),
    ],
  });
}

/**
 * The body of a GraphQL request, held to the REST router's rules: at most MAX_BODY_BYTES (413,
 * told by Content-Length or counted while reading), UTF-8 (bytes that are not are a 400, a
 * charset other than UTF-8 a 415), and a media type Yoga reads (else 415, in the contract's shape
 * rather than Yoga's empty 415).
 */
function useRequestBody(maxBytes: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      const declared = request.headers.get('content-length');
      if (declared !== null && Number(declared) > maxBytes) throw toGraphQLError(payloadTooLarge(maxBytes));
      if (request.method !== 'POST') return; // GET carries no body; other methods are Yoga's 405
      const contentType = request.headers.get('content-type');
      if (!requestParser) {
        throw toGraphQLError(
          new AppError('UNSUPPORTED_MEDIA_TYPE', 'A GraphQL request is sent as Content-Type: application/json (or application/graphql)'),
        );
      }
      if (!isUtf8Charset(contentType)) throw toGraphQLError(unsupportedCharset());
      const parse = requestParser;
      setRequestParser(async (req) => {
        let text: string;
        try {
          text = decodeUtf8(await readBody(req, maxBytes));
        } catch (error) {
          throw toGraphQLError(toAppError(error));
        }
        return parse(new Request(req.url, { method: req.method, headers: req.headers, body: text }));
      });
    },
  };
}

/**
 * graphql-armor's limits on an operation: depth, aliases, directives, tokens and cost, each a 400
 * BAD_REQUEST naming the limit. Introspection (`__schema`) counts for neither depth nor cost, so
 * GraphiQL's introspection query passes. With introspection off, "Did you mean …" suggestions are
 * hidden too, so that they cannot reveal the schema.
 */
function useOperationLimits(options: AppOptions): Plugin {
  // Report a validation-phase rejection as a validation error (Yoga's 400), without armor's
  // misleading "Syntax Error: " prefix.
  const report = (ctx: ValidationContext | null, error: GraphQLError) =>
    ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  const validation = { propagateOnRejection: false, onReject: [report], exposeLimits: true };
  const armor = EnvelopArmorPlugin({
    maxDepth: { ...validation, n: options.GRAPHQL_MAX_DEPTH, ignoreIntrospection: true },
    maxAliases: { ...validation, n: options.GRAPHQL_MAX_ALIASES },
    maxDirectives: { ...validation, n: options.GRAPHQL_MAX_DIRECTIVES },
    costLimit: { ...validation, maxCost: options.GRAPHQL_MAX_COST, ignoreIntrospection: true },
    // Counted while parsing: the parser stops at the limit, before building a huge document.
    maxTokens: {
      n: options.GRAPHQL_MAX_TOKENS,
      exposeLimits: true,
      propagateOnRejection: false,
      onReject: [
        (_ctx, error) => {
          throw new GraphQLError(error.message.replace(/^Syntax Error: /, ''));
        },
      ],
    },
    blockFieldSuggestion: { enabled: !options.GRAPHQL_INTROSPECTION },
  }) as Plugin;
  // graphql-js parses recursively: some 1,700 nested `{a:` overflow its stack (a 500) well within
  // the token limit, so brackets may nest only as deep as a query within the limits needs: its
  // fields, an argument's object literal as deep as stored JSON may be, and some room.
  const maxNesting = options.GRAPHQL_MAX_DEPTH + MAX_JSON_DEPTH + 16;
  const nesting: Plugin = {
    // Wraps the parser armor installed (so it runs only when a document is parsed, not when Yoga's
    // parse cache already holds it).
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, parseOptions) => {
        const text = typeof source === 'string' ? source : source.body;
        if (nestingExceeds(text, maxNesting)) {
          throw new GraphQLError(`Brackets may nest at most ${maxNesting} levels deep in a GraphQL document`);
        }
        return parseFn(source, parseOptions);
      });
    },
  };
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(armor);
      addPlugin(nesting);
    },
  };
}

/** Whether `{`, `[` and `(` nest deeper than `max` in a document (read by graphql-js's lexer, iteratively). */
function nestingExceeds(source: string, max: number): boolean {
  const lexer = new Lexer(new Source(source));
  let depth = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (token.kind === TokenKind.BRACE_L || token.kind === TokenKind.BRACKET_L || token.kind === TokenKind.PAREN_L) {
        if (++depth > max) return true;
      } else if (token.kind === TokenKind.BRACE_R || token.kind === TokenKind.BRACKET_R || token.kind === TokenKind.PAREN_R) {
        depth--;
      }
    }
  } catch {
    // A lexical error: the parser reports it.
  }
  return false;
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
