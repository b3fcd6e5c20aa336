import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { redactSecrets } from '../kernel/secrets.js';
import type { Metrics } from './metrics.js';
import type { RequestInfo } from './request.js';

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one; echoed in the answer as it came. */
export function requestId(incoming: string | null): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The request id as the log shows it: one the caller chose may be a secret pasted in the wrong place. */
const loggedId = (info: RequestInfo) => (info.callerId ? redactSecrets(info.requestId) : info.requestId);

/**
 * One structured line per request (method, route template, status, duration, the key's keyId and
 * the request id) and the request metrics. Nothing here can hold a secret: the route is a
 * template, the key is named by its public keyId, and a request id the caller chose is masked
 * where it looks like a secret.
 */
export function createRequestLog(logger: Logger, metrics?: Metrics) {
  return (method: string, info: RequestInfo, status: number): void => {
    const ms = performance.now() - info.start;
    const route = info.route ?? 'unmatched';
    logger[status >= 500 ? 'error' : 'info']({
      method,
      route,
      status,
      ms: Math.round(ms * 100) / 100,
      keyId: info.keyId,
      requestId: loggedId(info),
    });
    metrics?.observe(method, route, status, ms / 1000);
  };
}
