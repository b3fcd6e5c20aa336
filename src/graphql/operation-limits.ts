import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppOptions } from '../kernel/config.js';

/**
 * graphql-armor's limits on an operation: depth, aliases, directives, tokens and cost, each a 400
 * BAD_REQUEST naming the limit. Introspection (`__schema`) counts for neither depth nor cost, so
 * GraphiQL's introspection query passes. With introspection off, "Did you mean …" suggestions are
 * hidden too, so that they cannot reveal the schema. The token limit is counted while parsing: the
 * parser stops at the limit, before building a huge document (useNestingLimit, listed after this,
 * wraps that parser).
 */
export function useOperationLimits(options: AppOptions): Plugin {
  // Report a validation-phase rejection as a validation error (Yoga's 400), without armor's
  // misleading "Syntax Error: " prefix.
  const report = (ctx: ValidationContext | null, error: GraphQLError) =>
    ctx?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  const validation = { propagateOnRejection: false, onReject: [report], exposeLimits: true };
  return EnvelopArmorPlugin({
    maxDepth: { ...validation, n: options.GRAPHQL_MAX_DEPTH, ignoreIntrospection: true },
    maxAliases: { ...validation, n: options.GRAPHQL_MAX_ALIASES },
    maxDirectives: { ...validation, n: options.GRAPHQL_MAX_DIRECTIVES },
    costLimit: { ...validation, maxCost: options.GRAPHQL_MAX_COST, ignoreIntrospection: true },
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
}
