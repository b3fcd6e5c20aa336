import pino, { type Logger } from 'pino';
import { SECRET_IN_TEXT, TICKET_IN_TEXT } from '../kernel/secrets.js';
import { logTraceIds } from '../kernel/telemetry.js';

export type { Logger };

/** Replaces anything shaped like an API secret or a stream ticket, wherever it appears in a string. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, 'XI********').replace(TICKET_IN_TEXT, 'st_********');
}

/**
 * JSON lines on stdout (or the given stream). The Authorization header is never logged. Secrets are
 * masked where one can enter a line (the caller's request id, Yoga's debug text, messages quoting
 * input: redactSecrets at those places) rather than by scanning every line written.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      // With tracing on, each line written inside a traced request names its trace and span.
      mixin: logTraceIds,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'secret'], censor: '[redacted]' },
    },
    // Asynchronous writes: a synchronous write per request was a tenth of the CPU under load.
    // main.ts flushes before exit.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
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
