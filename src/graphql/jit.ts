import { useGraphQlJit } from '@envelop/graphql-jit';
import { Kind, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Executes queries and mutations with graphql-jit: each document (as Yoga's parse cache holds it)
 * is compiled once into a function that runs its selection without graphql-js's per-field
 * interpretation. Subscriptions stay on graphql-js: they are long-lived, so compiling them saves
 * nothing, and under graphql-jit's subscribe three event-stream tests fail: the subscribe
 * resolvers see no `customer` argument (neither a given one nor the "self" default), so a customer
 * key is refused its own stream (403) and a system key's `customer: "self"` is a 404, not a 400.
 *
 * graphql-jit's own JSON serializer (fast-json-stringify) is left off: results are serialized by
 * Yoga as today (or by useErrorContract's serializer when there are errors), so the response bytes
 * do not depend on the executor.
 *
 * A document graphql-jit cannot compile is answered with graphql-jit's errors (masked and coded
 * like any other); `onCompileError` hears of it.
 */
export function useJit(options: { onCompileError?: (errors: readonly Error[]) => void } = {}): Plugin {
  return useGraphQlJit(
    { customJSONSerializer: false },
    {
      enableIf: (args: ExecutionArgs) => !isSubscription(args),
      onError: (result) => options.onCompileError?.(result.errors ?? []),
    },
  ) as Plugin;
}

function isSubscription(args: ExecutionArgs): boolean {
  for (const definition of args.document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (args.operationName ? definition.name?.value === args.operationName : true) return definition.operation === 'subscription';
  }
  return false;
}
