import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, Lexer, Source, TokenKind, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppOptions } from '../kernel/config.js';
import { MAX_JSON_DEPTH } from '../kernel/json.js';
import { AppError } from '../kernel/errors.js';
import { isUtf8Charset, payloadTooLarge, unsupportedCharset } from '../http/body.js';
import type { RequestInfo } from '../http/request.js';
import { toGraphQLError } from './errors.js';

/** What the front door hands Yoga beside the request: the request's facts, and its body's fate. */
export interface GraphQLServerContext {
  info: RequestInfo;
  /** Why the body could not be read (too large, not UTF-8): answered as a GraphQL error. */
  bodyError?: AppError;
}

/**
 * The body of a GraphQL request, held to the REST door's rules: at most MAX_BODY_BYTES (413, told
 * by Content-Length or counted while the front door read it), UTF-8 (bytes that are not are a 400,
 * a charset other than UTF-8 a 415), and a media type Yoga reads (else 415, in the contract's shape
 * rather than Yoga's empty 415). The body itself was read once, by the GraphQL door, which tells
 * here why it could not be (`bodyError`).
 */
export function useRequestBody(maxBytes: number): Plugin<Record<string, unknown>, GraphQLServerContext> {
  return {
    onRequestParse({ request, requestParser, serverContext }) {
      const declared = request.headers.get('content-length');
      if (declared !== null && Number(declared) > maxBytes) throw toGraphQLError(payloadTooLarge(maxBytes));
      if (request.method !== 'POST') return; // GET carries no body; other methods are Yoga's 405
      if (!requestParser) {
        throw toGraphQLError(
          new AppError('UNSUPPORTED_MEDIA_TYPE', 'A GraphQL request is sent as Content-Type: application/json (or application/graphql)'),
        );
      }
      if (!isUtf8Charset(request.headers.get('content-type'))) throw toGraphQLError(unsupportedCharset());
      if (serverContext.bodyError) throw toGraphQLError(serverContext.bodyError);
    },
  };
}

/**
 * graphql-armor's limits on an operation: depth, aliases, directives, tokens and cost, each a 400
 * BAD_REQUEST naming the limit. Introspection (`__schema`) counts for neither depth nor cost, so
 * GraphiQL's introspection query passes. With introspection off, "Did you mean …" suggestions are
 * hidden too, so that they cannot reveal the schema.
 */
export function useOperationLimits(options: AppOptions): Plugin {
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
