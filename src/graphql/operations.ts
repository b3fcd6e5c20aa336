import type { z } from 'zod';
import type { RequestContext } from '../domain/request-context.js';
import type { Operation, Target } from '../resources/operations/define.js';

// Pothos' field builders are typed per object; this helper only passes the options through.
type FieldBuilder = { field(options: object): unknown };

/**
 * The GraphQL field of an operation declared in src/resources/operations: its name and description
 * are the declaration's, and so is the service call. What stays the door's: the arguments (some
 * are derived from the operation's input schema, zodArgs; others are GraphQL's own shape), how
 * they name the target and make the input, and what the field answers.
 */
export function operationField<S extends z.ZodType, R, A>(
  t: FieldBuilder,
  operation: Operation<S, R>,
  binding: {
    type: unknown;
    args: object;
    target(args: A): Target;
    input?(args: A): unknown;
    answer?(result: R): unknown;
  },
): Record<string, never> {
  const graphql = operation.graphql;
  if (!graphql) throw new Error(`The operation ${operation.name} has no GraphQL form`);
  return {
    [graphql.field]: t.field({
      type: binding.type,
      description: graphql.description,
      args: binding.args,
      resolve: async (_root: unknown, args: A, ctx: RequestContext) => {
        const result = await operation.run(ctx, binding.target(args), binding.input?.(args) as z.output<S>);
        return binding.answer ? binding.answer(result) : result;
      },
    }),
  } as Record<string, never>;
}
