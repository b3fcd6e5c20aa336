import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Lru } from '../kernel/lru.js';
import { isStreamed, type HttpResponse } from './response.js';

/** Bodies smaller than this go out as they are: compressing them saves less than it costs. */
export const COMPRESS_MIN_BYTES = 1024;

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

type Encoding = 'br' | 'gzip';

const encoders: Record<Encoding, (bytes: Uint8Array) => Promise<Buffer>> = {
  // Quality 5 of 11: most of brotli's gain at a small part of its top setting's CPU time.
  br: (bytes) =>
    brotli(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength },
    }),
  gzip: (bytes) => gzip(bytes, { level: 6 }),
};

/** Text the service sends: JSON (both GraphQL media types, problem documents), HTML, plain text. */
const COMPRESSIBLE = /^(application\/([\w.+-]*\+)?json|text\/(html|plain|css|javascript))\b/i;

/**
 * The encoding to answer with, from Accept-Encoding (RFC 9110 §12.5.3): br, else gzip, each only when
 * listed (or `*`) with a quality above 0; none when the header is absent.
 */
export function chooseEncoding(acceptEncoding: string | null): Encoding | undefined {
  if (!acceptEncoding) return undefined;
  const quality = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (!name) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    quality.set(name, Number.isFinite(value) ? value : 0);
  }
  const accepts = (encoding: Encoding) => (quality.get(encoding) ?? quality.get('*') ?? 0) > 0;
  return accepts('br') ? 'br' : accepts('gzip') ? 'gzip' : undefined;
}

/**
 * Compresses an answer of either door (GraphQL or REST) above COMPRESS_MIN_BYTES with br or gzip,
 * as the request's Accept-Encoding allows, and says `Vary: Accept-Encoding` on every answer that
 * could have been compressed. A strong ETag names the encoded bytes (`"…-br"`), as RFC 9110 asks of
 * a strong validator; the REST door accepts either form in If-None-Match. Streamed answers go out as
 * they are: compressing them would mean reading them whole first, which streaming them avoids.
 *
 * Written here rather than taken from @whatwg-node/server's useContentEncoding, which has no size
 * threshold, takes the first listed encoding without reading q-values (`gzip;q=0` included), and
 * decompresses request bodies (a way around the body size limit's Content-Length check).
 */
export function createCompression() {
  // The GraphiQL page (several MB, the same bytes each time) is compressed once per encoding.
  const cache = new Lru<string, Buffer>(4, { order: 'insertion' });
  return async function compress(acceptEncoding: string | null, response: HttpResponse): Promise<HttpResponse> {
    const { body, headers } = response;
    if (body == null || isStreamed(body) || headers['content-encoding']) return response;
    if (response.status === 204 || response.status === 304 || response.status < 200) return response;
    if (!COMPRESSIBLE.test(headers['content-type'] ?? '')) return response;
    headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
    const encoding = chooseEncoding(acceptEncoding);
    if (!encoding) return response;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (bytes.byteLength < COMPRESS_MIN_BYTES) return response;
    headers['content-encoding'] = encoding;
    delete headers['content-length'];
    const etag = headers.etag;
    if (etag && /^"[^"]*"$/.test(etag)) headers.etag = `${etag.slice(0, -1)}-${encoding}"`;
    return { ...response, body: await encodeCached(cache, encoding, bytes) };
  };
}

/** Bodies over 256 KiB (the GraphiQL page) are kept compressed, at most a few of them. */
async function encodeCached(cache: Lru<string, Buffer>, encoding: Encoding, bytes: Uint8Array): Promise<Buffer> {
  if (bytes.byteLength < 256 * 1024) return encoders[encoding](bytes);
  const key = `${encoding}:${createHash('sha256').update(bytes).digest('base64')}`;
  let encoded = cache.get(key);
  if (!encoded) {
    encoded = await encoders[encoding](bytes);
    cache.set(key, encoded);
  }
  return encoded;
}

/** Strips the encoding suffix useCompression adds, so an ETag compares with its identity form. */
export function identityEtag(etag: string): string {
  return etag.replace(/-(br|gzip)"$/, '"');
}
