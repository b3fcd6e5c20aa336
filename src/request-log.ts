import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from './logger.js';
import { requestInfo } from './request-info.js';

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/**
 * One structured line per request: method, route, status, duration, the key's keyId and a request
 * id (the caller's X-Request-Id when it is sane, else a new one), echoed in the response.
 */
export function useRequestLog(logger: Logger): Plugin {
  return {
    onRequest({ request, url }) {
      const info = requestInfo(request);
      const incoming = request.headers.get('x-request-id');
      info.requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      info.start = performance.now();
      info.route ??= url.pathname === '/graphql' ? '/graphql' : undefined;
    },
    onResponse({ request, response }) {
      const info = requestInfo(request);
      info.requestId ??= randomUUID();
      response.headers.set('x-request-id', info.requestId);
      const status = response.status;
      logger[status >= 500 ? 'error' : 'info']({
        method: request.method,
        route: info.route ?? 'unmatched',
        status,
        ms: info.start === undefined ? undefined : Math.round((performance.now() - info.start) * 100) / 100,
        keyId: info.keyId,
        requestId: info.requestId,
      });
    },
  };
}
