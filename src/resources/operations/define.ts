import type { z } from 'zod';
import type { RequestContext } from '../../domain/request-context.js';

/**
 * One declaration per operation: what it is called, who may call it, the input it takes (the zod
 * schema the REST door validates the body with, and the GraphQL door derives arguments from where
 * the shapes agree), its documentation, and the service call. The doors bind each declaration:
 * rest/routes.ts to a route in each dialect, graphql/ to a mutation or query field where the
 * operation has a GraphQL form. What a door answers (a rendering, a status, headers) stays the
 * door's.
 */

/** Who may call an operation. Documentation: the services enforce it. */
export type Who = 'anyone' | 'owner or system' | 'system';

/** What an operation acts on, named as a request names it: REST path parameters, GraphQL arguments. */
export interface Target {
  /** `self`, a UUID, an id or a name. */
  customer: string;
  /** An API key: its `keyId`, `id` or name. */
  key?: string;
  /** A setting's name. */
  name?: string;
}

export interface Operation<S extends z.ZodType = z.ZodType, R = unknown> {
  /** The operation's name: its REST operationId in the customers dialect (the tenants dialect prefixes it). */
  name: string;
  who: Exclude<Who, 'anyone'>;
  /** The body it takes, as zod; the service validates what it is given again. None: the target is all. */
  input?: S;
  /** One line, the REST summary. `noun` is how the dialect calls a customer (`customer`, `tenant`). */
  summary: string | ((noun: string) => string);
  /** The REST description, where there is more to say than the summary. */
  description?: string;
  /** Its GraphQL form, where it has one: the field's name and description. */
  graphql?: { field: string; description: string };
  /** The service call. `input` is the body as parsed (REST) or the arguments' value (GraphQL). */
  run(ctx: RequestContext, target: Target, input: z.output<S>): Promise<R>;
}

/** Declares an operation (the identity, typed by its input schema and result). */
export function defineOperation<S extends z.ZodType = z.ZodNever, R = unknown>(operation: Operation<S, R>): Operation<S, R> {
  return operation;
}

/** An operation's REST summary in a dialect. */
export const summaryOf = (operation: Pick<Operation, 'summary'>, noun: string): string =>
  typeof operation.summary === 'function' ? operation.summary(noun) : operation.summary;
