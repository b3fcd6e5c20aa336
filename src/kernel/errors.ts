import { redactSecrets } from './secrets.js';

/**
 * Coded errors shared by GraphQL and REST. Services throw these; each door renders them in its own
 * shape (`extensions.code` + `extensions.http.status`, or the REST envelope). Anything else that
 * escapes is an internal error and is masked.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'GONE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export const statusOf: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * Makes an error without capturing a stack trace. A coded error is an answer (a refusal, a bad
 * input, a missing setting), never reported with its stack; capturing one was a sixth of the CPU of
 * GraphQL reads that answer a field's error (measured under load, 32 connections).
 */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Seconds a client is told to wait (Retry-After) when the database or the service is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 2;

export class AppError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(
    readonly code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // see withoutStack
    // Messages may quote what the caller sent; a secret pasted in the wrong place is not echoed.
    super(redactSecrets(message));
    Error.stackTraceLimit = limit;
    this.name = 'AppError';
    this.status = statusOf[code];
    this.headers = headers;
    // Every 503 says when to try again, whichever code path made it.
    if (code === 'UNAVAILABLE' && !headers['retry-after']) this.headers = { ...headers, 'retry-after': String(UNAVAILABLE_RETRY_AFTER_S) };
  }
}

export const badRequest = (message: string) => new AppError('BAD_REQUEST', message);
export const unauthenticated = (message = 'A valid API key is required: Authorization: Bearer <secret>') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'This API key may not access that resource') =>
  new AppError('FORBIDDEN', message);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const unavailable = (message = 'The database is unavailable; try again shortly') => new AppError('UNAVAILABLE', message);

/**
 * SQLSTATEs that say the database (or the way to it) failed, not the statement: connection
 * exceptions (08), insufficient resources (53: too many connections, out of memory or disk),
 * operator intervention (57: query canceled by statement_timeout 57014, backend terminated 57P01,
 * server shutting down 57P02/57P03).
 */
const UNAVAILABLE_SQLSTATE = /^(08\w{3}|53\w{3}|57014|57P0[1-5])$/;
/** Node socket errors and Prisma's codes for an unreachable database or a timed-out wait. */
const UNAVAILABLE_CODE = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|P1001|P1002|P1008|P1017|P2024|P2028)$/;
/**
 * Kinds of Prisma's driver-adapter errors (DriverAdapterError.cause.kind) that mean the connection
 * or the database failed.
 */
const UNAVAILABLE_KIND = /^(DatabaseNotReachable|DatabaseDoesNotExist|ConnectionClosed|SocketTimeout|TooManyConnections|TransactionAlreadyClosed|TlsConnectionError)$/;
/**
 * What pg and pg-pool say when a wait ran out or the connection went away; pg's own errors carry no
 * code. "timeout exceeded when trying to connect": no pooled connection came free in time.
 */
const UNAVAILABLE_MESSAGE =
  /timeout exceeded when trying to connect|Query read timeout|Connection terminated|Can't reach database|connect ECONN|Client has encountered a connection error|Connection closed|terminating connection|canceling statement due to statement timeout|Client was closed|not queryable/i;

/**
 * Database errors that mean "the database is not there (or not answering)" rather than "the query
 * is wrong". The SQLSTATE may sit anywhere in the chain Prisma builds: the error's `code`, its
 * `cause`, `meta.driverAdapterError.cause.originalCode` (P2039 wraps a terminated backend's 57P01
 * there), so every nested object is searched.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 64) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const { code, originalCode, kind, message, originalMessage } = e as Record<string, unknown>;
    for (const c of [code, originalCode]) {
      if (typeof c === 'string' && (UNAVAILABLE_SQLSTATE.test(c) || UNAVAILABLE_CODE.test(c))) return true;
    }
    if (typeof kind === 'string' && UNAVAILABLE_KIND.test(kind)) return true;
    const name = (e as { name?: unknown }).name;
    if ((name === 'DriverAdapterError' || name === 'PrismaClientInitializationError') && typeof message === 'string') {
      if (/connect|terminat|closed|timeout|ECONN/i.test(message)) return true;
    }
    for (const m of [message, originalMessage]) {
      if (typeof m === 'string' && UNAVAILABLE_MESSAGE.test(m)) return true;
    }
    const { cause, meta, driverAdapterError, originalError } = e as Record<string, unknown>;
    queue.push(cause, meta, driverAdapterError, originalError);
  }
  return false;
}

/** Maps any thrown value to an AppError; unknown failures become a bare INTERNAL. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) return unavailable();
  return new AppError('INTERNAL', 'Unexpected error');
}

/** A short description of an unexpected error for the log: its kind and code, not its text (which may hold SQL). */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const { code, meta } = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } };
  return {
    type: error.name,
    ...(code !== undefined && { code }),
    ...(meta?.driverAdapterError?.cause?.kind !== undefined && { kind: meta.driverAdapterError.cause.kind }),
  };
}
