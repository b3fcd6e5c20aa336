import { z } from 'zod';
import type { RequestContext } from '../request-context.js';
import { requireSystem, resolveCustomer } from '../customers/service.js';
import { parseInput } from '../../kernel/json.js';
import { badRequest, forbidden, unauthenticated } from '../../kernel/errors.js';
import { checkResumePoint, readEvents, type EventRow } from './read.js';
import { eventIterator, sseStream } from './stream.js';

/** `?after=&limit=`: events after an id (0, the default: from the oldest kept), oldest first. */
export const eventsQuery = z.strictObject({
  after: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({ description: 'The last event id already seen; 0 or absent: from the oldest kept.' }),
  limit: z.int().min(1).max(500).default(100).meta({ description: 'How many events a page holds (1 to 500).' }),
});

/** The REST stream's query: the page's, and a stream ticket (`?ticket=`) for a client that cannot send `Authorization`. */
export const eventsStreamQuery = eventsQuery.extend({
  ticket: z
    .string()
    .optional()
    .meta({ description: 'A stream ticket (`POST …/events/tickets`), in place of the key, to open the live stream once. Ignored with an `Authorization` header.' }),
});

/** Whose events: one customer's (its owner or a system key), or everyone's (system keys only). */
export type EventScope = { customer: string } | 'all';

/**
 * Where a stream or page starts: `Last-Event-ID` (what EventSource sends when it reconnects) wins
 * over `after`. A value that is not an event id is a 400.
 */
export function resumePoint(lastEventId: string | null | undefined, after: number | undefined): number {
  if (lastEventId === null || lastEventId === undefined || lastEventId === '') return after ?? 0;
  if (!/^[0-9]{1,16}$/.test(lastEventId) || Number(lastEventId) > Number.MAX_SAFE_INTEGER) throw badRequest('Last-Event-ID must be an event id (a decimal integer)');
  return Number(lastEventId);
}

/** The customer whose events `scope` names (undefined: everyone's), once the caller may read them. */
export async function streamCustomer(ctx: RequestContext, scope: EventScope): Promise<{ id: number; uuid: string } | undefined> {
  if (scope === 'all') {
    requireSystem(ctx, 'read every customer\'s events');
    return undefined;
  }
  return resolveCustomer(ctx, scope.customer);
}

/** A page of events after `after`, oldest first. */
export async function listEvents(ctx: RequestContext, scope: EventScope, input: z.input<typeof eventsQuery>): Promise<EventRow[]> {
  const { after = 0, limit } = parseInput(eventsQuery, input);
  if (ctx.streamScope !== undefined) throw unauthenticated('A stream ticket opens a live stream (Accept: text/event-stream) only');
  const customerId = (await streamCustomer(ctx, scope))?.id;
  await checkResumePoint(ctx.sql, after, ctx.events.retentionDays);
  // A page that is not full while committed events wait behind the watermark (a transaction still
  // running, usually for a statement's time) waits for them a little: a client that reads the log
  // right after its write finds it there. Past PAGE_WAIT_MS it gets what is final.
  const deadline = Date.now() + PAGE_WAIT_MS;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    const page = await readEvents(ctx.sql, { customerId, after, limit });
    if (!page.pending || page.length === limit || Date.now() + delay > deadline) return page;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** The longest a page of events waits for committed events held behind the watermark. */
const PAGE_WAIT_MS = 2_000;

/**
 * Everything a live stream needs, checked before it starts (so a refusal is still an ordinary error
 * answer): who may read, the resume point, and one of the key's stream slots (429 past
 * MAX_STREAMS_PER_KEY). While it runs, the stream re-checks the caller's key on every wake, so a key
 * suspended or deleted (or a customer deleted) ends its streams too.
 */
async function prepareStream(ctx: RequestContext, scope: EventScope, after: number) {
  const customerId = (await streamCustomer(ctx, scope))?.id;
  // A stream ticket opens the one stream it was issued for.
  if (ctx.streamScope !== undefined && ctx.streamScope !== (customerId ?? null)) throw forbidden('The stream ticket was issued for another stream');
  await checkResumePoint(ctx.sql, after, ctx.events.retentionDays);
  const hub = ctx.eventHub!;
  const slot = hub.open(ctx.principal.apiKeyId, ctx.events.maxStreamsPerKey);
  const read = async (from: number, limit: number) => {
    await ctx.reauthenticate();
    return readEvents(ctx.sql, { customerId, after: from, limit });
  };
  return { hub, slot, customerId, read, after };
}

/** The events as a Server-Sent Events stream (REST), each event's data as `render` makes it. */
export async function openEventStream(
  ctx: RequestContext,
  scope: EventScope,
  after: number,
  render: (event: EventRow) => unknown,
  disconnect: () => void,
  onClose?: (reason: string) => void,
): Promise<ReadableStream<Uint8Array>> {
  const prepared = await prepareStream(ctx, scope, after);
  return sseStream({
    ...prepared,
    heartbeatMs: ctx.events.heartbeatMs,
    bufferBytes: ctx.events.bufferBytes,
    render,
    disconnect,
    onClose,
  });
}

/** The events as an async iterator (GraphQL subscriptions). */
export async function subscribeEvents(ctx: RequestContext, scope: EventScope, after: number) {
  return eventIterator(await prepareStream(ctx, scope, after));
}
