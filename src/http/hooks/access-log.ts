import type { Logger } from 'pino';
import { redactSecrets } from '../../kernel/secrets.js';
import type { FrontDoorHook } from '../pipeline.js';
import type { RequestInfo } from '../request.js';

/** The request id as the log shows it: one the caller chose may be a secret pasted in the wrong place. */
const loggedId = (info: RequestInfo) => (info.callerId ? redactSecrets(info.requestId) : info.requestId);

/**
 * One structured line per request (method, route template, status, duration, the key's keyId and
 * the request id), at `error` for a 5xx and `info` otherwise. Nothing here can hold a secret: the
 * route is a template, the key is named by its public keyId, and a request id the caller chose is
 * masked where it looks like a secret.
 */
export function accessLogHook(logger: Logger): FrontDoorHook {
  return {
    name: 'access-log',
    onResponse(request, response, ms) {
      const { info } = request;
      const status = response.status;
      logger[status >= 500 ? 'error' : 'info']({
        method: request.method,
        route: info.route ?? 'unmatched',
        status,
        ms: Math.round(ms * 100) / 100,
        keyId: info.keyId,
        requestId: loggedId(info),
      });
    },
  };
}
