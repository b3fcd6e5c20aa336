import { AppError, badRequest } from '../kernel/errors.js';
import type { HttpRequest } from './request.js';

export const payloadTooLarge = (maxBytes: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `The request body may be at most ${maxBytes} bytes (${Math.round((maxBytes / 1024) * 100) / 100} KiB)`);

export const unsupportedCharset = () =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be UTF-8 (a charset parameter, if any, must be utf-8)');

/**
 * The body's bytes, at most `maxBytes` of them: a larger Content-Length is refused before reading,
 * and a body without one (or with a false one) is counted as it arrives. Either way 413.
 */
export async function readBody(request: HttpRequest, maxBytes: number): Promise<Buffer> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw payloadTooLarge(maxBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body()) {
    size += chunk.byteLength;
    // Leaving the loop stops the read (a node stream is destroyed, a web stream cancelled).
    if (size > maxBytes) throw payloadTooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** UTF-8 text; bytes that are not UTF-8 are a 400 (never silently replaced). */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a Content-Type's charset parameter, if it has one, is UTF-8. */
export function isUtf8Charset(contentType: string | null): boolean {
  if (!contentType) return true;
  const [, ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  return params.every((param) => !param.startsWith('charset=') || /^charset="?utf-8"?$/.test(param));
}

/** `application/json` (or one of `otherTypes`), with no charset or a UTF-8 one. */
function isJson(contentType: string | null, otherTypes: readonly string[]): boolean {
  if (!contentType) return false;
  const [type = ''] = contentType.split(';', 1).map((part) => part.trim().toLowerCase());
  if (type !== 'application/json' && !otherTypes.includes(type)) return false;
  return isUtf8Charset(contentType);
}

/**
 * The JSON object a request carries. In this order: a body over `maxBytes` (MAX_BODY_BYTES) is 413
 * (told by Content-Length, or counted while reading); no body is 400; a body that is not
 * `application/json` (UTF-8) is 415; bytes that are not UTF-8, text that is not JSON, or JSON that
 * is not an object, are 400. A key given twice keeps its last value (JSON.parse).
 */
export async function readJsonObject(
  request: HttpRequest,
  maxBytes: number,
  otherTypes: readonly string[] = [],
): Promise<Record<string, unknown>> {
  const bytes = await readBody(request, maxBytes);
  if (bytes.length === 0) throw badRequest('This request needs a JSON object as its body (Content-Type: application/json)');
  if (!isJson(request.headers.get('content-type'), otherTypes)) {
    const accepted = ['application/json', ...otherTypes].join(' or ');
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `The request body must be JSON, sent with Content-Type: ${accepted}`);
  }
  const text = decodeUtf8(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`The request body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}
