import type { Sql } from '../db/database.js';
import { AppError } from '../errors.js';

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
const COLUMNS = `id::text AS id, customer_uuid::text AS customer, type, subject, at, actor_key_id AS "actorKeyId",
  actor_kind AS "actorKind", request_id AS "requestId", changes`;

/**
 * Events after `after` in id order, `limit` of them: one customer's, or everyone's. A resume point
 * that retention has pruned past is refused (410), so a client never silently skips events.
 */
export async function readEvents(sql: Sql, options: { customerId?: number; after: number; limit: number }): Promise<EventRow[]> {
  const rows =
    options.customerId === undefined
      ? await sql<EventRow & { id: string }>(`SELECT ${COLUMNS} FROM events e WHERE e.id > $1 ORDER BY e.id LIMIT $2`, [options.after, options.limit])
      : await sql<EventRow & { id: string }>(`SELECT ${COLUMNS} FROM events e WHERE e.customer_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3`, [
          options.customerId,
          options.after,
          options.limit,
        ]);
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/** The id of a customer's newest event (0 when it has none): where a stream of "from now on" starts. */
export async function newestEventId(sql: Sql, customerId: number): Promise<number> {
  const [row] = await sql<{ id: string }>('SELECT COALESCE(max(id), 0)::text AS id FROM events WHERE customer_id = $1', [customerId]);
  return Number(row?.id ?? 0);
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
