/**
 * What a handler answers besides a plain JSON body (which is sent with the route's status): another
 * status, headers, or text.
 */
export class Reply {
  constructor(
    readonly init: {
      status?: number;
      headers?: Record<string, string>;
      json?: unknown;
      text?: string;
      /** JSON text sent as it is produced (a long list), so the whole never sits in memory. */
      stream?: AsyncIterable<string>;
      /** A body of its own (a Server-Sent Events stream), sent as it is read. */
      body?: ReadableStream<Uint8Array>;
    },
  ) {}
}

/** RFC 7396's media type, which PATCH bodies may be sent as. */
export const MERGE_PATCH_TYPE = 'application/merge-patch+json';
