import { context, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The GraphQL phases as spans under the request's server span: `graphql.parse`, `graphql.validate`,
 * `graphql.execute` (or `graphql.subscribe`), the resolvers' SQL under the last, and one span per
 * event a subscription delivers. The server span gets the operation's name and type. Nothing of the
 * document's text or variables is recorded.
 *
 * Written on Yoga's own hooks rather than taken from @envelop/opentelemetry, which traces execution
 * only (no parse or validate) and brings the 1.x tracing SDK beside the one the service runs.
 * Listed last among the plugins, so that it wraps whichever executor the others chose (graphql-jit).
 */
export function useTracing(tracer: Tracer): Plugin {
  const fail = (span: Span, message: string) => span.setStatus({ code: SpanStatusCode.ERROR, message });
  const operation = (document: DocumentNode, operationName?: string | null) => {
    const op = getOperationAST(document, operationName);
    return { type: op?.operation ?? 'unknown', name: op?.name?.value };
  };
  const described = (document: DocumentNode, operationName?: string | null) => {
    const { type, name } = operation(document, operationName);
    const attributes: Record<string, string> = { 'graphql.operation.type': type };
    if (name) attributes['graphql.operation.name'] = name;
    // The server span says what was run, beside its route.
    trace.getActiveSpan()?.setAttributes(attributes);
    return { type, name, attributes };
  };
  const ended = (span: Span, result: ExecutionResult) => {
    if (result.errors?.length) fail(span, result.errors.map((e) => e.extensions?.code ?? 'error').join(','));
  };

  return {
    onParse() {
      const span = tracer.startSpan('graphql.parse');
      return ({ result }) => {
        if (result instanceof Error) fail(span, 'parse error');
        span.end();
      };
    },
    onValidate() {
      const span = tracer.startSpan('graphql.validate');
      return ({ valid }) => {
        if (!valid) fail(span, 'invalid');
        span.end();
      };
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const { type, name, attributes } = described(args.document, args.operationName);
      const span = tracer.startSpan(`graphql.execute ${type}${name ? ` ${name}` : ''}`, { attributes });
      const active = trace.setSpan(context.active(), span);
      setExecuteFn((execution) => context.with(active, () => executeFn(execution)));
      return {
        onExecuteDone({ result }) {
          // A stream (incremental delivery) ends its span once the first answer is ready.
          if (!isAsyncIterable(result)) ended(span, result);
          span.end();
        },
      };
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const { name, attributes } = described(args.document, args.operationName);
      const span = tracer.startSpan(`graphql.subscribe${name ? ` ${name}` : ''}`, { attributes });
      const active = trace.setSpan(context.active(), span);
      setSubscribeFn((subscription) => context.with(active, () => subscribeFn(subscription)));
      return {
        onSubscribeResult() {
          span.end();
          return {
            // One span per event delivered, under the subscription's own span.
            onNext({ result }) {
              const delivered = tracer.startSpan('graphql.subscription.event', { attributes }, active);
              ended(delivered, result);
              delivered.end();
            },
          };
        },
        onSubscribeError() {
          fail(span, 'subscribe error');
          span.end();
        },
      };
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
