import pino, { type Logger } from 'pino';
import { logTraceIds } from '../kernel/telemetry.js';

export type { Logger };

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
