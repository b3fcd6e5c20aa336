import type { RequestContext } from '../request-context.js';
import { READ_CACHE_CHANNEL } from '../customers/read-cache.js';
import { keysNaming } from '../customers/customer-key.js';
import type { RecordedEvent, WriteAnswer } from './write.js';

/** The channels a process's own changes are announced on (the same ones PostgreSQL's triggers use). */
export const AUTH_CHANNEL = 'gateway_auth';
export const EVENTS_CHANNEL = 'gateway_events';

/**
 * What a write leaves behind in this process, applied in one place when its statement ends, before
 * the write answers (domain/events/write.ts). So the process's very next request, on either database and
 * whether or not a change feed is up, sees the change:
 * - the request's loaders hold the customer and its settings as the write left them (or forget the
 *   customer when the write failed: it may have committed all the same), and no customer any more
 *   when it was deleted; the process's read cache forgets the customer;
 * - the key cache forgets, accepted or refused, a key that was changed or deleted, and every key
 *   of a customer whose `active` flag changed or that was deleted;
 * - on the embedded database, the same is announced to every listener (db/local-feed.ts), as
 *   PostgreSQL's triggers do at commit for every process;
 * - committed events wake this process's streams.
 */
export function afterWrite(ctx: RequestContext, customerId: number | undefined, answer: WriteAnswer | undefined): void {
  if (customerId === undefined) return;
  const { loaders } = ctx;
  const written = answer?.customer;
  loaders.forgetCustomer(customerId);
  if (written && !written.deletedAt) {
    loaders.primeCustomer(written);
    loaders.settings.prime(written.id, written.settings);
  } else if (written) {
    for (const key of keysNaming(written)) loaders.customer.prime(key, null);
  }
  ctx.readCache?.invalidate([customerId]);
  ctx.announce?.(READ_CACHE_CHANNEL, String(customerId));
  const events = answer?.events ?? [];
  for (const event of events) {
    const refusal = authChange(customerId, event);
    if (!refusal) continue;
    if (refusal.startsWith('key:')) ctx.authenticator.invalidateKey(refusal.slice(4));
    else ctx.authenticator.invalidate(customerId);
    ctx.announce?.(AUTH_CHANNEL, refusal);
  }
  if (events.length === 0) return;
  ctx.eventHub?.committed([customerId]);
  ctx.announce?.(EVENTS_CHANNEL, `${customerId}:`);
}

/** What of the key cache a change makes stale: one key (`key:<keyId>`), a customer's keys, or nothing. */
function authChange(customerId: number, event: RecordedEvent): string | undefined {
  switch (event.type) {
    case 'apikey.updated':
    case 'apikey.deleted':
      return event.subject ? `key:${event.subject}` : `customer:${customerId}`;
    case 'customer.deleted':
      return `customer:${customerId}`;
    case 'customer.updated':
      return 'active' in event.changes ? `customer:${customerId}` : undefined;
    default:
      return undefined;
  }
}
