import type { IncomingMessage, ServerResponse } from 'node:http';

/** Facts about a request gathered on the way through (for the request log and metrics). */
export interface RequestInfo {
  requestId: string;
  /** The request id is the caller's X-Request-Id (not one made here). */
  callerId?: boolean;
  start: number;
  /** The matched route template, e.g. `/customers/{customer}/settings`. */
  route?: string;
  keyId?: string;
}

/**
 * A request as both doors see it, whether it came from node:http (the server) or from the Fetch
 * API (`App.fetch`, in-process): what they read of it and nothing more.
 */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: {
    get(name: string): string | null;
    /** Every header, lower-case names (a repeated one joined with commas). */
    all(): Record<string, string>;
  };
  /** The body as it arrives; it can be read once. */
  body(): AsyncIterable<Uint8Array>;
  /** Ends the client's connection at once (a stream whose client stopped reading); in-process, nothing. */
  disconnect(): void;
  readonly info: RequestInfo;
}

const NO_BODY: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

/** A node:http request. */
export function fromNode(req: IncomingMessage, res: ServerResponse, info: RequestInfo): HttpRequest {
  const raw = req.headers;
  return {
    method: req.method ?? 'GET',
    // The request target is a path (origin form); a leading `//` stays part of the path.
    url: new URL(`http://${hostOf(raw.host)}${req.url?.startsWith('/') ? req.url : `/${req.url ?? ''}`}`),
    headers: {
      get(name) {
        const value = raw[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
      all() {
        const all: Record<string, string> = {};
        for (const name in raw) {
          const value = raw[name];
          if (value !== undefined) all[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        return all;
      },
    },
    // Leaving the loop early (a body over the limit) must not destroy the socket: the 413 still goes out.
    body: () => req.iterator({ destroyOnReturn: false }),
    disconnect: () => res.destroy(),
    info,
  };
}

/** A Fetch API request (the app called in-process). */
export function fromFetch(request: Request, info: RequestInfo): HttpRequest {
  return {
    method: request.method,
    url: new URL(request.url),
    headers: {
      get: (name) => request.headers.get(name),
      all: () => Object.fromEntries(request.headers),
    },
    body: () => (request.body as AsyncIterable<Uint8Array> | null) ?? NO_BODY,
    disconnect: () => {},
    info,
  };
}

const HOST = /^[\w.-]+(:\d{1,5})?$|^\[[\d:a-f.]+\](:\d{1,5})?$/i;

/** The Host header when it is a plain host[:port], else `localhost` (it only forms the URL's origin). */
function hostOf(host: string | undefined): string {
  return host && HOST.test(host) ? host : 'localhost';
}
