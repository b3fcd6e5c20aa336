import { AppError, badRequest } from '../errors.js';
import type { ErrorJson } from './schemas.js';

/** The largest request body the router reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * What a handler answers besides a plain JSON body (which is sent with the route's status): another
 * status, headers, or text.
 */
export class Reply {
  constructor(
    readonly init: { status?: number; headers?: Record<string, string>; json?: unknown; text?: string },
  ) {}
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/** The error envelope of the platform: `{"status": false, "code", "message"}`. */
export function errorReply(error: AppError): Reply {
  const json: ErrorJson = { status: false, code: error.code, message: error.message };
  return new Reply({ status: error.status, headers: { ...error.headers }, json });
}

const payloadTooLarge = () =>
  new AppError('PAYLOAD_TOO_LARGE', `The request body may be at most ${MAX_BODY_BYTES} bytes (${MAX_BODY_BYTES / 1024} KiB)`);

/**
 * The JSON object a request carries. In this order: a body over the limit is 413 (told by
 * Content-Length, or counted while reading); no body is 400; a body that is not
 * `application/json` (UTF-8) is 415; text that is not JSON, or JSON that is not an object, is 400.
 */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw payloadTooLarge();
  const bytes = await readBytes(request);
  if (bytes.length === 0) throw badRequest('This request needs a JSON object as its body (Content-Type: application/json)');
  if (!isJson(request.headers.get('content-type'))) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be JSON, sent with Content-Type: application/json');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8');
  }
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

/** `application/json`, with no charset or a UTF-8 one. */
function isJson(contentType: string | null): boolean {
  if (!contentType) return false;
  const [type, ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => !param.startsWith('charset=') || /^charset="?utf-8"?$/.test(param));
}

async function readBytes(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
