import type { Sql } from '../../db/database.js';
import { AppError } from '../../kernel/errors.js';

/** An event as stored, read for rendering (src/resources/event.ts). */
export interface EventRow {
  id: number;
  customer: string;
  type: string;
  subject: string | null;
  at: Date;
  actorKeyId: string | null;
  actorKind: string;
  requestId: string | null;
  changes: Record<string, unknown>;
}

// The id leaves as text (a bigint); ORDER BY names the column (e.id), not that text.
const COLUMNS = `e.id::text AS id, e.customer_uuid::text AS customer, e.type, e.subject, e.at, e.actor_key_id AS "actorKeyId",
  e.actor_kind AS "actorKind", e.request_id AS "requestId", e.changes`;

/** A page of events, and whether committed events wait behind the watermark (see readEvents). */
export type EventPage = EventRow[] & { pending: boolean };

/**
 * Events after `after` in id order, `limit` of them: one customer's, or everyone's. Only events
 * below the watermark are read (gateway_event_watermark: every transaction that could still commit
 * an event below it has ended), so a reader that resumes after the last id it was given never
 * skips one that commits later. `pending` says that committed events wait above the watermark for
 * a transaction still running (for milliseconds, a statement's time): the reader looks again soon.
 * One statement.
 */
export async function readEvents(sql: Sql, options: { customerId?: number; after: number; limit: number }): Promise<EventPage> {
  const own = options.customerId === undefined ? '' : 'AND e.customer_id = $3';
  const values = options.customerId === undefined ? [options.after, options.limit] : [options.after, options.limit, options.customerId];
  const rows = await sql<EventRow & { id: string | null; position: string | null; pending: boolean }>(
    `WITH w AS (SELECT gateway_event_watermark() AS below)
     SELECT page.*, EXISTS (SELECT 1 FROM events e WHERE e.id >= w.below AND e.id > $1 ${own}) AS pending
     FROM w LEFT JOIN LATERAL (
       SELECT e.id AS position, ${COLUMNS} FROM events e WHERE e.id > $1 AND e.id < w.below ${own} ORDER BY e.id LIMIT $2
     ) page ON true
     ORDER BY page.position`,
    values,
  );
  const page = rows.filter((row) => row.id !== null).map(({ pending: _, position: __, ...row }) => ({ ...row, id: Number(row.id) })) as EventPage;
  page.pending = rows[0]?.pending ?? false;
  return page;
}

/**
 * Where a stream of "from now on" starts: the newest event (0 when there is none), or just below the
 * watermark if that is lower, so that an event committing now is sent rather than skipped.
 */
export async function newestEventId(sql: Sql, customerId: number): Promise<number> {
  const [row] = await sql<{ id: string }>(
    'SELECT LEAST(COALESCE(max(id), 0), gateway_event_watermark() - 1)::text AS id FROM events WHERE customer_id = $1',
    [customerId],
  );
  return Math.max(0, Number(row?.id ?? 0));
}

/** Refuses a resume point older than what retention keeps: 410 GONE, saying so. */
export async function checkResumePoint(sql: Sql, after: number, retentionDays: number): Promise<void> {
  if (after === 0) return;
  const [horizon] = await sql<{ prunedThrough: string }>(`SELECT pruned_through::text AS "prunedThrough" FROM event_horizon WHERE id = 1`, []);
  const prunedThrough = Number(horizon?.prunedThrough ?? 0);
  if (after < prunedThrough) {
    throw new AppError(
      'GONE',
      `Events up to id ${prunedThrough} are no longer kept (EVENT_RETENTION_DAYS is ${retentionDays}), so a resume after ` +
        `${after} would miss some; read the current state again and resume from the newest event (or from 0)`,
    );
  }
}
