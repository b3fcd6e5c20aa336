import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError, isDatabaseUnavailable, statusOf, toAppError, withoutStack, type ErrorCode } from '../kernel/errors.js';

/** The GraphQL form of a coded error: `extensions.code` and `extensions.http.status`. */
export function toGraphQLError(error: AppError, original?: GraphQLError): GraphQLError {
  return withoutStack(() => new GraphQLError(error.message, {
    nodes: original?.nodes,
    source: original?.source,
    positions: original?.positions,
    path: original?.path,
    extensions: { code: error.code, http: { status: error.status, headers: error.headers } },
  }));
}

/** The coded error a GraphQL error wraps (or the error itself, when it is one); undefined otherwise. */
export function appErrorOf(error: unknown): AppError | undefined {
  const cause = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  return cause instanceof AppError ? cause : undefined;
}

/**
 * Yoga's masking hook. Coded errors keep their message; anything else becomes INTERNAL
 * "Unexpected error" (or UNAVAILABLE when the database is away), and `onUnexpected` logs it.
 */
export function createMaskError(onUnexpected: (error: unknown) => void) {
  return (error: unknown): Error => {
    const original = error instanceof GraphQLError ? error : undefined;
    const cause = original?.originalError ?? error;
    const coded = appErrorOf(error);
    if (coded) return toGraphQLError(coded, original);
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
 * the response body, which Yoga would otherwise strip.
 *
 * The response's own status follows the GraphQL-over-HTTP specification (responseStatus below),
 * so the body's per-error status and the HTTP status may differ: a partial result is a 200 whose
 * errors still say 403 or 404 each.
 */
export function useErrorContract(): Plugin {
  /** Requests whose document reached the GraphQL parser (so they were well-formed GraphQL-over-HTTP requests). */
  const parsed = new WeakSet<Request>();
  return {
    onParse({ context }) {
      const request = (context as { request?: Request }).request;
      if (request) parsed.add(request);
    },
    onResultProcess({ request, result, setResult }) {
      if (!result || Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult;
      if (!single.errors?.length) return;
      let onlyGraphQLErrors = true;
      const errors = single.errors.map((error) => {
        const code = error.extensions?.code;
        const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
        if (isContractCode(code) && status === statusOf[code] && !('originalError' in error.extensions)) {
          onlyGraphQLErrors = false;
          return error;
        }
        // Yoga's, graphql-js's and graphql-armor's own errors: the contract's code for their HTTP
        // status when it has one below 500 (405, 413, 415, …), else BAD_REQUEST; and nothing else
        // of theirs (e.g. Yoga's `originalError`).
        const byStatus = CODE_OF_STATUS.get(Number(status));
        const contract: ErrorCode = byStatus && statusOf[byStatus] < 500 ? byStatus : 'BAD_REQUEST';
        return withoutStack(() => new GraphQLError(error.message, {
          nodes: error.nodes,
          source: error.source,
          positions: error.positions,
          path: error.path,
          extensions: { code: contract, http: { status: statusOf[contract] } },
        }));
      });
      const statuses = errors.map((e) => httpOf(e).status ?? 500);
      const status = responseStatus({
        hasData: single.data !== undefined && single.data !== null,
        graphQLRequestError: onlyGraphQLErrors && parsed.has(request),
        applicationJson: answersApplicationJson(request.headers.get('accept')),
        highest: Math.max(...statuses),
      });
      setResult({
        ...single,
        // Yoga takes the response status from the result and the headers (Retry-After) from each error.
        errors: withoutStack(() =>
          errors.map(
            (e) =>
              new GraphQLError(e.message, {
                nodes: e.nodes,
                source: e.source,
                positions: e.positions,
                path: e.path,
                extensions: { ...e.extensions, http: { headers: httpOf(e).headers } },
              }),
          ),
        ),
        extensions: { ...single.extensions, http: { status } },
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

const httpOf = (error: GraphQLError) =>
  (error.extensions?.http ?? {}) as { status?: number; headers?: Record<string, string> };

/**
 * The HTTP status of a GraphQL response with errors, as the GraphQL-over-HTTP specification has it:
 * - a response with non-null `data` (a partial result) is 200, whichever media type;
 * - `data: null` (an error reached a non-null root field, as a refused mutation) keeps the highest
 *   of its errors' statuses: the specification recommends 200 there, but a single refused mutation
 *   answering 403 or 404 is what REST callers and request logs and metrics rely on;
 * - without `data`, a GraphQL request error (the document does not parse or validate, variables do
 *   not coerce) is 200 under `application/json` and its 400 under
 *   `application/graphql-response+json`;
 * - anything else (no or refused key, rate limit, body too large, wrong media type, malformed
 *   JSON) keeps the highest of its errors' statuses under either.
 */
export function responseStatus(r: { hasData: boolean; graphQLRequestError: boolean; applicationJson: boolean; highest: number }): number {
  if (r.hasData) return 200;
  if (r.graphQLRequestError && r.applicationJson) return 200;
  return r.highest;
}

/**
 * Whether Yoga answers this Accept header with `application/json` rather than
 * `application/graphql-response+json`: the first entry (UTF-8 or no charset) that either type
 * matches decides, `application/json` winning a wildcard; no Accept header means `application/json`.
 */
export function answersApplicationJson(accept: string | null): boolean {
  const matches = (asked: string, type: string) => {
    const [askedMain, askedSub] = asked.split('/');
    const [main, sub] = type.split('/');
    return (askedMain === '*' || askedMain === main) && (askedSub === '*' || askedSub === sub);
  };
  for (const entry of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [mediaType = '', ...params] = entry.split(';');
    const charset = params.find((p) => p.includes('charset='));
    if (charset && charset !== 'charset=utf-8') continue;
    if (matches(mediaType, 'application/json')) return true;
    if (matches(mediaType, 'application/graphql-response+json')) return false;
  }
  return true;
}
