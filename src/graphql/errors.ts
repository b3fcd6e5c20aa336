import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError, isDatabaseUnavailable, statusOf, toAppError, type ErrorCode } from '../errors.js';

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
    // (useErrorContract gives them their code). A variable a scalar refuses ("Int cannot represent
    // non-integer value") carries the scalar's own GraphQLError: the client's mistake too.
    if (original && (!original.originalError || original.originalError instanceof GraphQLError)) return original;
    if (!isDatabaseUnavailable(cause)) onUnexpected(cause);
    return toGraphQLError(toAppError(cause), original);
  };
}

const CONTRACT_CODES = new Set(Object.keys(statusOf));
const isContractCode = (code: unknown): code is ErrorCode => typeof code === 'string' && CONTRACT_CODES.has(code);
const CODE_OF_STATUS = new Map((Object.entries(statusOf) as [ErrorCode, number][]).map(([code, status]) => [status, code]));

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
        const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
        if (isContractCode(code) && status === statusOf[code] && !('originalError' in error.extensions)) return error;
        // Yoga's, graphql-js's and graphql-armor's own errors: the contract's code for their HTTP
        // status when it has one below 500 (405, 413, 415, …), else BAD_REQUEST; and nothing else
        // of theirs (e.g. Yoga's `originalError`).
        const byStatus = CODE_OF_STATUS.get(Number(status));
        const contract: ErrorCode = byStatus && statusOf[byStatus] < 500 ? byStatus : 'BAD_REQUEST';
        return new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          extensions: { code: contract, http: { status: statusOf[contract] } },
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
