import type { HttpResponse } from '../response.js';
import type { FrontDoorHook } from '../pipeline.js';

/** Browsers cache a preflight this many seconds (Chromium caps it at 7200). */
const CORS_MAX_AGE_SECONDS = 600;

/** What a browser client may read besides the body. */
const EXPOSED = ['x-request-id', 'x-modified-at', 'retry-after', 'link', 'location', 'traceresponse'];

/**
 * CORS for both doors, answered as Yoga's own CORS plugin answers (@whatwg-node/server's
 * getCORSHeadersByRequestAndOptions, with credentials off): only CORS_ORIGINS may read answers.
 * Without any configured origin there is no hook: no CORS header is sent at all and OPTIONS is an
 * ordinary request (a 405 with Allow on a REST path).
 *
 * onRequest answers a preflight (any OPTIONS) itself, before either door: 204. onSend adds the CORS
 * headers to each answer of a request with an Origin, the preflight's included.
 */
export function corsHook(origins: readonly string[], allowedHeaders: readonly string[]): FrontDoorHook | undefined {
  if (origins.length === 0) return undefined;
  // Any origin when '*' is listed (each is told its own), the one origin when only one is, else the
  // listed one that asks (or `null`).
  const anyOrigin = origins.includes('*');
  const single = !anyOrigin && origins.length === 1 ? origins[0]! : undefined;
  const allowHeaders = allowedHeaders.length ? allowedHeaders.join(', ') : undefined;
  const exposeHeaders = EXPOSED.join(', ');
  const maxAge = String(CORS_MAX_AGE_SECONDS);
  return {
    name: 'cors',
    onRequest(request): HttpResponse | undefined {
      return request.method === 'OPTIONS' ? { status: 204, headers: { 'content-length': '0' } } : undefined;
    },
    onSend(request, response) {
      const origin = request.headers.get('origin');
      if (origin === null) return undefined;
      const headers = response.headers;
      let vary: string | undefined;
      if (single !== undefined) headers['access-control-allow-origin'] = single;
      else if (anyOrigin || origins.includes(origin)) {
        headers['access-control-allow-origin'] = origin;
        vary = 'Origin';
      } else headers['access-control-allow-origin'] = 'null';
      if (vary) headers.vary = vary;
      const method = request.headers.get('access-control-request-method');
      if (method) headers['access-control-allow-methods'] = method;
      if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
      else {
        const asked = request.headers.get('access-control-request-headers');
        if (asked) {
          headers['access-control-allow-headers'] = asked;
          headers.vary = vary ? `${vary}, Access-Control-Request-Headers` : 'Access-Control-Request-Headers';
        }
      }
      headers['access-control-expose-headers'] = exposeHeaders;
      headers['access-control-max-age'] = maxAge;
      return undefined;
    },
  };
}
