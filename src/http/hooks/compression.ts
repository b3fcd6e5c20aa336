import { chooseEncoding, createEncoder, type Encoding } from '../compression.js';
import type { FrontDoorHook } from '../pipeline.js';
import { isStreamed, type HttpResponse } from '../response.js';

/** Bodies smaller than this go out as they are: compressing them saves less than it costs. */
export const COMPRESS_MIN_BYTES = 1024;

/** Text the service sends: JSON (both GraphQL media types, problem documents), HTML, plain text. */
const COMPRESSIBLE = /^(application\/([\w.+-]*\+)?json|text\/(html|plain|css|javascript))\b/i;

/**
 * Compresses an answer of either door (GraphQL or REST) above COMPRESS_MIN_BYTES with br or gzip,
 * as the request's Accept-Encoding allows, and says `Vary: Accept-Encoding` on every answer that
 * could have been compressed. A strong ETag names the encoded bytes (`"…-br"`), as RFC 9110 asks of
 * a strong validator; the REST door accepts either form in If-None-Match. Streamed answers go out as
 * they are: compressing them would mean reading them whole first, which streaming them avoids.
 * Only an answer that is compressed waits (onSend returns a promise then); any other goes on at once.
 *
 * Written here rather than taken from @whatwg-node/server's useContentEncoding, which has no size
 * threshold, takes the first listed encoding without reading q-values (`gzip;q=0` included), and
 * decompresses request bodies (a way around the body size limit's Content-Length check).
 */
export function compressionHook(): FrontDoorHook {
  const encode = createEncoder();
  const compressed = async (response: HttpResponse, encoding: Encoding, bytes: Uint8Array): Promise<HttpResponse> => ({
    ...response,
    body: await encode(encoding, bytes),
  });
  return {
    name: 'compression',
    onSend(request, response) {
      const { body, headers } = response;
      if (body == null || isStreamed(body) || headers['content-encoding']) return undefined;
      if (response.status === 204 || response.status === 304 || response.status < 200) return undefined;
      if (!COMPRESSIBLE.test(headers['content-type'] ?? '')) return undefined;
      headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
      const encoding = chooseEncoding(request.headers.get('accept-encoding'));
      if (!encoding) return undefined;
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (bytes.byteLength < COMPRESS_MIN_BYTES) return undefined;
      headers['content-encoding'] = encoding;
      delete headers['content-length'];
      const etag = headers.etag;
      if (etag && /^"[^"]*"$/.test(etag)) headers.etag = `${etag.slice(0, -1)}-${encoding}"`;
      return compressed(response, encoding, bytes);
    },
  };
}
