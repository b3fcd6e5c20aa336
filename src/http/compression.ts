import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Lru } from '../kernel/lru.js';

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

export type Encoding = 'br' | 'gzip';

const encoders: Record<Encoding, (bytes: Uint8Array) => Promise<Buffer>> = {
  // Quality 5 of 11: most of brotli's gain at a small part of its top setting's CPU time.
  br: (bytes) =>
    brotli(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength },
    }),
  gzip: (bytes) => gzip(bytes, { level: 6 }),
};

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
 * An encoder of bodies: bodies over 256 KiB (the GraphiQL page: several MB, the same bytes each
 * time) are kept compressed, at most a few of them, so that each is compressed once per encoding.
 */
export function createEncoder(): (encoding: Encoding, bytes: Uint8Array) => Promise<Buffer> {
  const cache = new Lru<string, Buffer>(4, { order: 'insertion' });
  return async (encoding, bytes) => {
    if (bytes.byteLength < 256 * 1024) return encoders[encoding](bytes);
    const key = `${encoding}:${createHash('sha256').update(bytes).digest('base64')}`;
    let encoded = cache.get(key);
    if (!encoded) {
      encoded = await encoders[encoding](bytes);
      cache.set(key, encoded);
    }
    return encoded;
  };
}

/** Strips the encoding suffix the compression hook adds, so an ETag compares with its identity form. */
export function identityEtag(etag: string): string {
  return etag.replace(/-(br|gzip)"$/, '"');
}
