import { getCORSHeadersByRequestAndOptions } from '@whatwg-node/server';
import type { HttpRequest } from './request.js';
import { lowerCase } from './response.js';

/** Browsers cache a preflight this many seconds (Chromium caps it at 7200). */
const CORS_MAX_AGE_SECONDS = 600;

/** What a browser client may read besides the body. */
const EXPOSED = ['x-request-id', 'x-modified-at', 'retry-after', 'link', 'location', 'traceresponse'];

/**
 * CORS for both doors, as Yoga's own CORS plugin answers (its header computation is used here):
 * only CORS_ORIGINS may read answers; without any configured origin no CORS header is sent at all
 * and OPTIONS is an ordinary request (a 405 with Allow on a REST path).
 */
export function createCors(origins: string[], allowedHeaders: string[]) {
  if (origins.length === 0) return undefined;
  const options = { origin: origins, credentials: false, allowedHeaders, maxAge: CORS_MAX_AGE_SECONDS, exposedHeaders: EXPOSED };
  return {
    /** A preflight is answered here, before either door: 204 with the CORS headers. */
    isPreflight: (request: HttpRequest) => request.method === 'OPTIONS',
    /** The CORS headers for this request (none when it has no Origin). */
    headers(request: HttpRequest): Record<string, string> | undefined {
      const headers = getCORSHeadersByRequestAndOptions(request as unknown as Request, options);
      return headers ? lowerCase(headers) : undefined;
    },
  };
}

export type Cors = NonNullable<ReturnType<typeof createCors>>;
