import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AppError } from '../kernel/errors.js';

export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * An answer of either door. A string or bytes body is sent whole (and may be compressed); a stream
 * (an event stream, a long list) is sent as it is read, pulled only as fast as the client takes it.
 */
export interface HttpResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<string | Uint8Array> | null;
}

/** Answers that carry no body whatever they hold: HEAD (GET's headers only), 204 and 304. */
const sendsNoBody = (method: string | undefined, status: number) => method === 'HEAD' || status === 204 || status === 304;

export const isStreamed = (body: HttpResponse['body']): body is ReadableStream<Uint8Array> | AsyncIterable<string | Uint8Array> =>
  body != null && typeof body !== 'string' && !(body instanceof Uint8Array);

/** The error envelope of the platform: `{"status": false, "code", "message"}`. */
export function errorResponse(error: AppError): HttpResponse {
  return {
    status: error.status,
    headers: { ...lowerCase(error.headers), 'content-type': JSON_TYPE },
    body: JSON.stringify({ status: false, code: error.code, message: error.message }),
  };
}

export function lowerCase(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) for (const name in headers) out[name.toLowerCase()] = headers[name]!;
  return out;
}

/** Writes an answer on node:http. A stream that fails midway ends the connection: the status line has gone. */
export function writeNode(req: IncomingMessage, res: ServerResponse, response: HttpResponse): void {
  const { body } = response;
  const headers = response.headers;
  // A request body left unread (refused before it was read, or too large): close rather than read on.
  if (!req.complete) headers.connection = 'close';
  if (body != null && !isStreamed(body)) {
    // HEAD says what GET would send, the length included.
    headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  }
  if (body == null || sendsNoBody(req.method, response.status)) {
    if (isStreamed(body)) void cancel(body);
    res.writeHead(response.status, headers).end();
    return;
  }
  if (!isStreamed(body)) {
    res.writeHead(response.status, headers).end(body);
    return;
  }
  res.writeHead(response.status, headers);
  void pipe(body, res);
}

type Stream = ReadableStream<Uint8Array> | AsyncIterable<string | Uint8Array>;

/**
 * A streamed body as an iterator whose `return` (the client has gone) ends the stream at once, even
 * while a read is pending (an idle subscription). A web stream is read through its reader, whose
 * `cancel` does that; a Node stream (what Yoga's Response hands out) is destroyed. Their own async
 * iterators would wait for the pending read first, which may never end.
 */
function iterate(body: Stream): AsyncIterator<string | Uint8Array> {
  if ('getReader' in body && typeof body.getReader === 'function') return readerIterator(body);
  const iterator = (body as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  if (!(body instanceof Readable)) return iterator;
  return {
    next: () => iterator.next(),
    async return() {
      body.destroy();
      return (await iterator.return?.()) ?? { done: true, value: undefined };
    },
  };
}

async function pipe(body: Stream, res: ServerResponse): Promise<void> {
  const iterator = iterate(body);
  let closed = false;
  const onClose = () => {
    closed = true;
    void iterator.return?.();
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done || closed) break;
      if (!res.write(next.value)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (!closed) res.end();
  } catch {
    // Cut short: all that can be said now is that the answer is incomplete.
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}

/** A web stream read as an iterator whose `return` cancels it (the client has gone). */
function readerIterator(stream: ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  const reader = stream.getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    async return() {
      await reader.cancel().catch(() => {});
      return { done: true, value: undefined };
    },
  };
}

async function cancel(body: Stream): Promise<void> {
  await iterate(body).return?.();
}

/** The same answer as a Fetch API Response (the app called in-process). */
export function toFetchResponse(method: string, response: HttpResponse): Response {
  const { body } = response;
  if (body == null || sendsNoBody(method, response.status)) {
    if (isStreamed(body)) void cancel(body);
    return new Response(null, { status: response.status, headers: response.headers });
  }
  if (!isStreamed(body)) return new Response(body as BodyInit, { status: response.status, headers: response.headers });
  return new Response(body instanceof ReadableStream ? body : readableOf(iterate(body)), { status: response.status, headers: response.headers });
}

/** A byte stream that pulls the next piece only when the reader has taken the last one. */
function readableOf(iterator: AsyncIterator<string | Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(typeof next.value === 'string' ? encoder.encode(next.value) : next.value);
      } catch {
        // The status has gone: the answer is cut short (an errored body would surface as an
        // exception in the reader, which in-process is the caller; closing says "incomplete" less
        // loudly, as a closed connection does over the network). Already cancelled: nothing to do.
        try {
          controller.close();
        } catch {}
      }
    },
    cancel() {
      void iterator.return?.();
    },
  });
}
