import { GraphQLError } from 'graphql';
import { appErrorOf } from './errors.js';

/**
 * Apollo's multipart HTTP subscriptions (https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/multipart-protocol):
 * what Apollo Client's HttpLink sends a subscription as, `Accept: multipart/mixed;boundary="graphql";
 * subscriptionSpec=1.0,application/json`. Yoga serves subscriptions over Server-Sent Events only
 * (it refuses this Accept with 406), so the door asks Yoga for SSE and rewrites its stream here.
 */
export const MULTIPART_SUBSCRIPTION_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0';

/** How often an idle multipart subscription sends a heartbeat part (`{}`); Apollo's router sends one every 5 s. */
export const MULTIPART_HEARTBEAT_MS = 5000;

/** Whether a request asks for Apollo's multipart subscription protocol. */
export function wantsMultipartSubscription(accept: string | null): boolean {
  return !!accept && /multipart\/mixed[^,]*subscriptionSpec\s*=\s*"?1\.0/i.test(accept);
}

const encoder = new TextEncoder();
// Each part is followed at once by the boundary: a client knows a part is whole only when it sees
// the boundary after it, so a result is not held back until the next part (or heartbeat) comes.
const OPENING = encoder.encode('\r\n--graphql');
const part = (json: string) => encoder.encode(`\r\ncontent-type: application/json\r\n\r\n${json}\r\n--graphql`);
const CLOSING = encoder.encode('--\r\n');

/** A transport error's message: a coded error's own, anything else a generic one (no internals). */
function messageOf(error: unknown): string {
  const coded = appErrorOf(error);
  if (coded) return coded.message;
  if (error instanceof GraphQLError && !error.originalError) return error.message;
  return 'The subscription ended unexpectedly; subscribe again';
}

/**
 * Yoga's SSE stream of a subscription (`event: next` blocks with a result each, `event: complete`
 * at the end, `:` pings) as Apollo's multipart body: each result a part `{"payload": <result>}`, a
 * `{}` part every `heartbeatMs` while idle, a stream that fails a last `{"payload": null, "errors":
 * [...]}` part, and `--graphql--` at the end. Cancelling it (the client went) cancels Yoga's stream,
 * which ends the subscription and frees its slot.
 */
export function sseToMultipart(sse: ReadableStream<Uint8Array>, heartbeatMs = MULTIPART_HEARTBEAT_MS): ReadableStream<Uint8Array> {
  const reader = sse.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let heartbeat: NodeJS.Timeout | undefined;
  let done = false;

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, last?: Uint8Array) => {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    try {
      if (last) controller.enqueue(last);
      controller.enqueue(CLOSING);
      controller.close();
    } catch {
      // The client has gone already.
    }
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      // A first heartbeat starts the body at once (as Yoga's opening ping does for SSE).
      controller.enqueue(OPENING);
      controller.enqueue(part('{}'));
      heartbeat = setInterval(() => {
        if (!done && (controller.desiredSize ?? 0) > 0) controller.enqueue(part('{}'));
      }, heartbeatMs);
      heartbeat.unref();
    },
    async pull(controller) {
      // Reads until at least one result (or the end) has been passed on: pull is called again when the client wants more.
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          return finish(controller, part(JSON.stringify({ payload: null, errors: [{ message: messageOf(error) }] })));
        }
        if (chunk.done) return finish(controller);
        buffer += decoder.decode(chunk.value, { stream: true });
        let sent = false;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event === 'complete') {
            await reader.cancel().catch(() => {});
            return finish(controller);
          }
          if (event === 'next' && data.length) {
            // Yoga's JSON, spliced in as it is rather than parsed and written again.
            controller.enqueue(part(`{"payload":${data.join('\n')}}`));
            sent = true;
          }
        }
        if (sent) return;
      }
    },
    async cancel(reason) {
      done = true;
      clearInterval(heartbeat);
      await reader.cancel(reason).catch(() => {});
    },
  });
}
