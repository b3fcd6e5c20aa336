import { AppError } from '../../kernel/errors.js';
import { streamContext, traceDelivery } from '../../kernel/telemetry.js';
import type { EventHub, StreamSlot } from './hub.js';
import type { EventPage, EventRow } from './read.js';

/** How one stream reads: its customer's events (or everyone's) after an id. */
export type ReadAfter = (after: number, limit: number) => Promise<EventPage>;

/**
 * A look again, soon, while committed events wait behind the watermark (domain/events/read.ts): no
 * notification may follow when the transaction holding them back ends (it may record nothing), so
 * the stream checks again after 5 ms, then 10, 20, … at most every 250 ms while they wait.
 */
const RECHECK_FIRST_MS = 5;
const RECHECK_MAX_MS = 250;

export class Recheck {
  private timer: NodeJS.Timeout | undefined;
  private delay = RECHECK_FIRST_MS;
  constructor(private readonly wake: () => void) {}
  /** After a read: `pending` schedules the next look (once), else the delay starts over. */
  after(pending: boolean): void {
    if (!pending) {
      this.delay = RECHECK_FIRST_MS;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, RECHECK_MAX_MS);
  }
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export interface StreamOptions {
  hub: EventHub;
  /** The customer whose events this stream carries; undefined: everyone's (the operator's). */
  customerId?: number;
  read: ReadAfter;
  /** The last event id the client has (0: from the oldest kept). */
  after: number;
  /** The stream's slot (EventHub.open): given back when it ends; the hub closes it at shutdown. */
  slot: StreamSlot;
  heartbeatMs: number;
  /** How much unread text a stream may hold for a client before it is disconnected. */
  bufferBytes: number;
  render: (event: EventRow) => unknown;
  /** Ends the client's connection, dropping what is queued for it. */
  disconnect?: () => void;
  onClose?: (reason: string) => void;
}

const PAGE = 100;
const encoder = new TextEncoder();

/**
 * A Server-Sent Events stream of events: `id:` is the event id, `event:` its type, `data:` the
 * event as JSON; a comment every `heartbeatMs` keeps proxies from closing an idle stream. It starts
 * with the events after `after` (a page at a time, as the client reads) and then follows new ones:
 * each wake reads the log after the last id sent, so the order is the log's and nothing is sent
 * twice or skipped. A client that stops reading is disconnected once `bufferBytes` of text wait for
 * it, with an `event: error` saying why, so it never holds this process's memory; it resumes from
 * its Last-Event-ID when it reconnects.
 */
export function sseStream(options: StreamOptions): ReadableStream<Uint8Array> {
  let last = options.after;
  let dirty = true;
  let busy = false;
  let done = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let unsubscribe = () => {};
  let heartbeat: NodeJS.Timeout | undefined;
  // The request that opened the stream, to parent each delivery's span (when tracing is on).
  const opened = streamContext();

  /**
   * Ends the stream: with a last `event: end` and its reason, or, when `cut`, by ending the
   * connection itself (what is queued for a client that is not reading is dropped with it). The
   * stream is closed, never errored: an errored body escapes the HTTP adapter as an uncaught
   * exception.
   */
  const finish = (reason: string, cut = false) => {
    if (done) return;
    done = true;
    clearInterval(heartbeat);
    recheck.stop();
    unsubscribe();
    options.slot.release();
    options.onClose?.(reason);
    try {
      if (!cut) controller.enqueue(encoder.encode(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`));
      controller.close();
    } catch {
      // Already closed by the client.
    }
    if (cut) options.disconnect?.();
  };

  const send = (text: string) => controller.enqueue(encoder.encode(text));

  const pump = async () => {
    if (busy || done) return;
    busy = true;
    try {
      while (dirty && !done) {
        dirty = false;
        for (;;) {
          const page = await options.read(last, PAGE);
          if (done) return;
          for (const event of page) {
            send(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(options.render(event))}\n\n`);
            traceDelivery(opened, { 'event.id': String(event.id), 'event.type': event.type });
            last = event.id;
          }
          if ((controller.desiredSize ?? 0) < -options.bufferBytes) {
            // The client has stopped reading: say so (it may never read it) and let go of the stream.
            send(`event: error\ndata: ${JSON.stringify({ reason: 'The client is not reading; reconnect with Last-Event-ID to resume' })}\n\n`);
            return finish('slow consumer', true);
          }
          if (page.length < PAGE) {
            recheck.after(page.pending);
            break;
          }
          // More is waiting: go on when the client has taken what it has (pull).
          if ((controller.desiredSize ?? 0) <= 0) {
            dirty = true;
            return;
          }
        }
      }
    } catch (error) {
      // The caller's key was suspended or deleted, or its customer deactivated or deleted: say so
      // and end. Otherwise the log could not be read (the database is away): cut the stream; the
      // client resumes later from its Last-Event-ID.
      if (error instanceof AppError && (error.status === 401 || error.status === 403)) finish(error.message);
      else finish('the event log could not be read', true);
    } finally {
      busy = false;
    }
  };

  const wake = () => {
    dirty = true;
    void pump();
  };
  const recheck = new Recheck(wake);

  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        unsubscribe = options.hub.subscribe(options.customerId, wake);
        options.slot.onClose((reason) => finish(reason));
        // The heartbeat and the opening `retry:` are lines without a blank line of their own: a blank
        // line ends an event, and some clients (fetch-event-source) hand an empty event to the
        // application for each, which then fails to parse it. A comment or a `retry:` field may stand
        // alone and is taken as it is read; the next event's blank line ends its block.
        heartbeat = setInterval(() => {
          if (!done) send(': heartbeat\n');
        }, options.heartbeatMs);
        heartbeat.unref();
        // Tells EventSource how soon to reconnect, and starts the stream with a byte (proxies flush).
        send('retry: 1000\n');
      },
      pull() {
        if (dirty) return pump();
      },
      cancel() {
        finish('client closed');
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 16 * 1024 }),
  );
}

/**
 * The same stream as an async iterator of events, for GraphQL subscriptions: each `next()` reads
 * the log after the last event given (waiting for a wake when there is none), so nothing is held
 * for a subscriber that is not reading. `return()` (the client has gone) ends it at once, even
 * while it waits for a wake: a plain generator would finish only at its next event, holding the
 * stream's slot until then.
 */
export function eventIterator(options: Omit<StreamOptions, 'heartbeatMs' | 'bufferBytes' | 'render'>): AsyncIterableIterator<EventRow> {
  let last = options.after;
  let signal: (() => void) | undefined;
  let woken = true;
  let closedReason: string | undefined;
  const wake = () => {
    woken = true;
    signal?.();
  };
  const unsubscribe = options.hub.subscribe(options.customerId, wake);
  const recheck = new Recheck(wake);
  const close = (reason: string) => {
    closedReason ??= reason;
    signal?.();
  };
  options.slot.onClose(close);

  async function* events(): AsyncGenerator<EventRow> {
    try {
      for (;;) {
        if (closedReason) return;
        if (!woken) await new Promise<void>((resolve) => (signal = resolve));
        signal = undefined;
        if (closedReason) return;
        woken = false;
        for (;;) {
          const page = await options.read(last, PAGE);
          for (const event of page) {
            last = event.id;
            yield event;
            if (closedReason) return;
          }
          if (page.length < PAGE) {
            recheck.after(page.pending);
            break;
          }
        }
      }
    } finally {
      recheck.stop();
      unsubscribe();
      options.slot.release();
      options.onClose?.(closedReason ?? 'client closed');
    }
  }

  const generator = events();
  return {
    next: () => generator.next(),
    async return() {
      // Wakes a wait for events, so the generator sees it is closed and ends (its `finally` runs).
      close('client closed');
      return generator.return(undefined);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** What `mapEvents`'s function answers to end the stream instead of sending a value. */
export const END_OF_STREAM = Symbol('end of stream');

/**
 * An event iterator's events made into other values, one by one (each read only when the client
 * asks for the next), ending when `map` answers END_OF_STREAM. Unlike an async generator looping
 * over `source`, its `return` reaches `source` at once, even while `source` waits for a wake.
 */
export function mapEvents<T>(source: AsyncIterableIterator<EventRow>, map: (event: EventRow) => Promise<T | typeof END_OF_STREAM>): AsyncIterableIterator<T> {
  const done = async (): Promise<IteratorResult<T>> => {
    await source.return?.();
    return { done: true, value: undefined };
  };
  return {
    async next() {
      const next = await source.next();
      if (next.done) return { done: true, value: undefined };
      const value = await map(next.value);
      return value === END_OF_STREAM ? done() : { done: false, value };
    },
    return: done,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
