import { randomUUID } from 'node:crypto';
import type { FrontDoorHook } from '../pipeline.js';

const REQUEST_ID = /^[\w.:@-]{1,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one; echoed in the answer as it came. */
export function requestId(incoming: string | null): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Each request's id (`info.requestId`, in the log line and the error a door logs): the caller's
 * X-Request-Id when it is sane, else a new UUID; sent back as X-Request-Id on every answer, the
 * error envelope included.
 */
export const requestIdHook: FrontDoorHook = {
  name: 'request-id',
  onRequest(request) {
    const incoming = request.headers.get('x-request-id');
    const id = requestId(incoming);
    request.info.requestId = id;
    request.info.callerId = id === incoming;
    return undefined;
  },
  onResponse(request, response) {
    response.headers['x-request-id'] = request.info.requestId;
  },
};
