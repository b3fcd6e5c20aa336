import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppOptions } from '../kernel/config.js';
import { MAX_JSON_DEPTH } from '../kernel/json.js';

/**
 * graphql-js parses recursively: some 1,700 nested `{a:` overflow its stack (a 500) well within the
 * token limit, so brackets may nest only as deep as a query within the limits needs: its fields, an
 * argument's object literal as deep as stored JSON may be, and some room. Deeper is a 400.
 *
 * Listed after useOperationLimits: it wraps the parser armor's token limit installed, and so runs
 * only when a document is parsed, not when Yoga's parse cache already holds it.
 */
export function useNestingLimit(options: Pick<AppOptions, 'GRAPHQL_MAX_DEPTH'>): Plugin {
  const maxNesting = options.GRAPHQL_MAX_DEPTH + MAX_JSON_DEPTH + 16;
  return {
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
