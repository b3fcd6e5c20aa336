import type { RequestContext } from '../request-context.js';
import { READ_CACHE_CHANNEL } from '../customers/read-cache.js';
import type { EventDraft } from './record.js';

/** The channels a process's own changes are announced on (the same ones PostgreSQL's triggers use). */
export const AUTH_CHANNEL = 'gateway_auth';
export const EVENTS_CHANNEL = 'gateway_events';

/**
 * What a write leaves behind in this process, applied in one place when its transaction ends
 * (committed or not: a rolled-back write only costs a re-read), before the write answers. So the
 * process's very next request, on either database and whether or not a change feed is up, sees
 * the change:
 * - the request's loaders and the process's read cache forget the customers it touched;
 * - the key cache forgets, accepted or refused, a key that was changed or deleted, and every key
 *   of a customer whose `active` flag changed or that was deleted;
 * - on the embedded database, the same is announced to every listener (db/local-feed.ts), as
 *   PostgreSQL's triggers do at commit for every process;
 * - committed events wake this process's streams.
 */
export function afterWrite(ctx: RequestContext, touched: Iterable<number>, drafts: EventDraft[], committed: boolean): void {
  const customers = new Set(touched);
  for (const draft of drafts) customers.add(draft.customer.id);
  for (const id of customers) ctx.loaders.forgetCustomer(id);
  ctx.readCache?.invalidate(customers);
  for (const id of customers) ctx.announce?.(READ_CACHE_CHANNEL, String(id));
  for (const draft of drafts) {
    const refusal = authChange(draft);
    if (!refusal) continue;
    if (refusal.startsWith('key:')) ctx.authenticator.invalidateKey(refusal.slice(4));
    else ctx.authenticator.invalidate(draft.customer.id);
    ctx.announce?.(AUTH_CHANNEL, refusal);
  }
  if (!committed || drafts.length === 0) return;
  ctx.eventHub?.committed(customers);
  for (const id of customers) ctx.announce?.(EVENTS_CHANNEL, `${id}:`);
}

/** What of the key cache a change makes stale: one key (`key:<keyId>`), a customer's keys, or nothing. */
function authChange(draft: EventDraft): string | undefined {
  switch (draft.type) {
    case 'apikey.updated':
    case 'apikey.deleted':
      return draft.subject ? `key:${draft.subject}` : `customer:${draft.customer.id}`;
    case 'customer.deleted':
      return `customer:${draft.customer.id}`;
    case 'customer.updated':
      return 'active' in draft.changes ? `customer:${draft.customer.id}` : undefined;
    default:
      return undefined;
  }
}
