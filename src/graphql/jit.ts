import { useGraphQlJit } from '@envelop/graphql-jit';
import { BREAK, Kind, visit, type DocumentNode, type ExecutionArgs } from 'graphql';
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
 * Compiling costs far more than one execution (measured: about 1.5 ms for the one-customer read,
 * about 50 ms for 50 aliased lookups), so a document is compiled only once it has been executed
 * `compileAfter` times (10 by default) through graphql-js: a client sending ever-new documents
 * cannot make the service compile each one, and a document that is compiled has already cost its
 * sender that many executions. Documents are told apart by identity, as Yoga's parse cache hands
 * the same DocumentNode to every request with the same text.
 *
 * Documents using `@defer` or `@stream` stay on graphql-js too: graphql-jit knows nothing of
 * incremental delivery and would answer them whole, or not at all.
 *
 * A document graphql-jit cannot compile is answered with graphql-jit's errors (masked and coded
 * like any other); `onCompileError` hears of it.
 */
export function useJit(options: { compileAfter?: number; onCompileError?: (errors: readonly Error[]) => void } = {}): Plugin {
  const compileAfter = options.compileAfter ?? 10;
  const executions = new WeakMap<DocumentNode, number>();
  const hot = (document: DocumentNode): boolean => {
    const seen = executions.get(document) ?? 0;
    if (seen >= compileAfter) return true;
    executions.set(document, seen + 1);
    return false;
  };
  return useGraphQlJit(
    { customJSONSerializer: false },
    {
      enableIf: (args: ExecutionArgs) => !isSubscription(args) && !isIncremental(args.document) && hot(args.document),
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

/** Whether a document asks for incremental delivery (`@defer` or `@stream`); remembered per document. */
const incremental = new WeakMap<DocumentNode, boolean>();
function isIncremental(document: DocumentNode): boolean {
  let found = incremental.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      Directive(node) {
        if (node.name.value === 'defer' || node.name.value === 'stream') {
          found = true;
          return BREAK;
        }
        return undefined;
      },
    });
    incremental.set(document, found);
  }
  return found;
}
