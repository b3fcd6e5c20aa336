import type { Sql } from '../../db/database.js';
import { generateTicket, hashSecret, TICKET_PATTERN } from '../../kernel/secrets.js';
import type { RequestContext } from '../request-context.js';
import { streamCustomer, type EventScope } from './service.js';

/**
 * Stream tickets: how a browser's plain `EventSource`, which cannot send `Authorization`, opens a
 * live event stream without the API key in its URL (where it would end up in logs, proxies and
 * histories). The key asks for a ticket (`POST …/events/tickets`); the ticket goes in the stream's
 * URL (`?ticket=`) and opens that one stream, in the key's name, once:
 * - short-lived: TICKET_TTL_SECONDS from its issue;
 * - single use: redeeming marks it used in the same statement, so two replicas cannot both take it;
 * - scoped: to the key that asked (its suspension or deletion ends the stream as it would the key's
 *   own) and to one stream (one customer's events, or everyone's for a system key's `/events`);
 * - never stored or logged in clear: only its sha256 is kept, the request log names routes, not
 *   URLs, and its shape (`st_` + 32 characters) is masked wherever a secret would be.
 */
export const TICKET_TTL_SECONDS = 60;

export interface IssuedTicket {
  ticket: string;
  expiresAt: Date;
}

/** A ticket for the stream of `scope`, for the calling key (who may read that stream, as ever). */
export async function issueTicket(ctx: RequestContext, scope: EventScope): Promise<IssuedTicket & { customerUuid?: string }> {
  const customer = await streamCustomer(ctx, scope);
  const ticket = generateTicket();
  const { expiresAt } = await ctx.db.streamTicket.create({
    data: {
      ticketHash: hashSecret(ticket),
      apiKeyId: ctx.principal.apiKeyId,
      customerId: customer?.id ?? null,
      expiresAt: new Date(Date.now() + TICKET_TTL_SECONDS * 1000),
    },
    select: { expiresAt: true },
  });
  return { ticket, expiresAt, customerUuid: customer?.uuid };
}

/**
 * Takes a ticket: answers the secret hash of the key it was issued to and the stream it opens, and
 * marks it used, in one statement; undefined when it is unknown, used, expired, or its key is gone.
 */
export async function redeemTicket(sql: Sql, ticket: string): Promise<{ secretHash: string; customerId: number | null } | undefined> {
  if (!TICKET_PATTERN.test(ticket)) return undefined;
  const [row] = await sql<{ secretHash: string; customerId: number | null }>(
    `UPDATE stream_tickets t SET used_at = now()
     FROM api_keys k
     WHERE t.ticket_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() AND k.id = t.api_key_id
     RETURNING k.secret_hash AS "secretHash", t.customer_id AS "customerId"`,
    [hashSecret(ticket)],
  );
  return row;
}

/** Removes tickets that expired more than an hour ago (the hourly pruning does it). */
export async function pruneTickets(sql: Sql): Promise<void> {
  await sql(`DELETE FROM stream_tickets WHERE expires_at < now() - interval '1 hour'`, []);
}
