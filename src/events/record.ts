import type { Prisma } from '../generated/prisma/client.js';
import type { RequestContext } from '../request-context.js';
import { afterWrite } from './after-write.js';

/** The kinds of change (contract 4c). */
export type EventType =
  | 'customer.created'
  | 'customer.updated'
  | 'customer.deleted'
  | 'setting.set'
  | 'setting.removed'
  | 'apikey.created'
  | 'apikey.updated'
  | 'apikey.deleted';

/** `{ field: { from, to } }` for each field the change moved. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

export type { Actor } from '../auth/principal.js';

/** An event as a write describes it; the transaction adds the id, time, actor and request id. */
export interface EventDraft {
  customer: { id: number; uuid: string };
  type: EventType;
  /** The setting name or the key's keyId the event is about. */
  subject?: string;
  changes: Changes;
}

export type Emit = (event: EventDraft) => void;

/** A lock key of this service's own: event inserts take it so that ids commit in order. */
const EVENT_ORDER_LOCK = 72_707_360;

/** Prisma's default (5 s) is short for a write that queues behind others on a busy pool. */
const WRITE_TRANSACTION = { maxWait: 5_000, timeout: 15_000 };

/**
 * The one place changes are recorded: every write runs in a transaction opened here, and the events
 * it emits are inserted in that same transaction, just before it commits, so there is no change
 * without its event and no event without its change (a refused or rolled-back write leaves none).
 * The inserts hold a transaction-scoped advisory lock until commit, so event ids become visible in
 * the order they were given and a reader that resumes after id n misses nothing. When it ends,
 * afterWrite applies what the write leaves behind in this process (caches, key cache, streams);
 * other processes hear the NOTIFYs its statements send.
 */
export async function transact<T>(
  ctx: RequestContext,
  work: (tx: Prisma.TransactionClient, emit: Emit) => Promise<T>,
  /** Customers the work changes even if it emits nothing (writeCustomer's). */
  touched: number[] = [],
): Promise<T> {
  const drafts: EventDraft[] = [];
  let committed = false;
  try {
    const result = await ctx.db.$transaction(async (tx) => {
      const value = await work(tx, (event) => void drafts.push(event));
      const real = drafts.filter((d) => Object.keys(d.changes).length > 0 || d.type !== 'customer.updated');
      if (real.length > 0) {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${EVENT_ORDER_LOCK})`;
        await tx.event.createMany({
          data: real.map((d) => ({
            customerId: d.customer.id,
            customerUuid: d.customer.uuid,
            type: d.type,
            subject: d.subject ?? null,
            actorKeyId: ctx.actor.keyId,
            actorKind: ctx.actor.kind,
            requestId: ctx.requestId?.slice(0, 128) ?? null,
            changes: d.changes as Prisma.InputJsonObject,
          })),
        });
      }
      return value;
    }, WRITE_TRANSACTION);
    committed = true;
    return result;
  } finally {
    // Committed or not, before the write answers: caches, key cache, streams (events/after-write.ts).
    afterWrite(ctx, touched, drafts, committed);
  }
}

/** The fields of `to` that differ from `from` (compared as JSON), as from/to pairs. */
export function changesOf(from: Record<string, unknown>, to: Record<string, unknown>, fields: string[]): Changes {
  const changes: Changes = {};
  for (const field of fields) {
    const before = from[field] ?? null;
    const after = to[field] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(after)) changes[field] = { from: before, to: after };
  }
  return changes;
}
