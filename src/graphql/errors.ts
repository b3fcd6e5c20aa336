import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError, isDatabaseUnavailable, statusOf, toAppError } from '../errors.js';

/** The GraphQL form of a coded error: `extensions.code` and `extensions.http.status`. */
export function toGraphQLError(error: AppError, original?: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: original?.nodes,
    source: original?.source,
    positions: original?.positions,
    path: original?.path,
    extensions: { code: error.code, http: { status: error.status, headers: error.headers } },
  });
}

/**
 * Yoga's masking hook. Coded errors keep their message; anything else becomes INTERNAL
 * "Unexpected error" (or UNAVAILABLE when the database is away), and `onUnexpected` logs it.
 */
export function createMaskError(onUnexpected: (error: unknown) => void) {
  return (error: unknown): Error => {
    const original = error instanceof GraphQLError ? error : undefined;
    const cause = original?.originalError ?? error;
    if (cause instanceof AppError) return toGraphQLError(cause, original);
    // Parse, validation and argument errors: the client's mistake, free of internals
    // (useErrorContract gives them their code).
    if (original && !original.originalError) return original;
    if (!isDatabaseUnavailable(cause)) onUnexpected(cause);
    return toGraphQLError(toAppError(cause), original);
  };
}

const CONTRACT_CODES = new Set(Object.keys(statusOf));

/**
 * Makes every GraphQL error speak the contract: `extensions.code` is one of the service's codes
 * (parse and validation failures become BAD_REQUEST 400) and `extensions.http.status` is kept in
 * the response body, which Yoga would otherwise strip. The response status is the highest one.
 */
export function useErrorContract(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (!result || Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult;
      if (!single.errors?.length) return;
      const errors = single.errors.map((error) => {
        const code = error.extensions?.code;
        if (typeof code === 'string' && CONTRACT_CODES.has(code)) return error;
        return new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        });
      });
      const statuses = errors.map((e) => (e.extensions?.http as { status?: number } | undefined)?.status ?? 500);
      setResult({
        ...single,
        errors,
        stringify: (clean: ExecutionResult) =>
          JSON.stringify({
            ...clean,
            errors: clean.errors?.map((e, i) => {
              const json = e.toJSON();
              return { ...json, extensions: { ...json.extensions, http: { status: statuses[i] } } };
            }),
          }),
      } as ExecutionResult);
    },
  };
}
