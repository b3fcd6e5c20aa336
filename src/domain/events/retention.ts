import type { Sql } from '../../db/database.js';
import { pruneTickets } from './tickets.js';

/**
 * Removes events older than `days`, a batch at a time with a pause between batches, so pruning a
 * large backlog never holds the pool or a lock for long. Moves the horizon that resume points are
 * checked against. Answers how many were removed.
 */
export async function pruneEvents(sql: Sql, days: number, batch = 1000): Promise<number> {
  let removed = 0;
  for (;;) {
    const rows = await sql<{ max: string | null; count: string }>(
      `WITH gone AS (
         DELETE FROM events WHERE id IN (
           SELECT id FROM events WHERE at < now() - make_interval(days => $1) ORDER BY id LIMIT $2)
         RETURNING id)
       SELECT max(id)::text AS max, count(*)::text AS count FROM gone`,
      [days, batch],
    );
    const count = Number(rows[0]?.count ?? 0);
    if (count === 0) return removed;
    removed += count;
    await sql(`UPDATE event_horizon SET pruned_through = GREATEST(pruned_through, $1::bigint) WHERE id = 1`, [rows[0]!.max]);
    if (count < batch) return removed;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Prunes now and then every `everyMs`, in the background; answers a function that stops it. */
export function startPruning(sql: Sql, days: number, onError: (error: unknown) => void, everyMs = 3_600_000): () => void {
  const run = () => void pruneEvents(sql, days).then(() => pruneTickets(sql)).catch(onError);
  const timer = setInterval(run, everyMs);
  timer.unref();
  setImmediate(run);
  return () => clearInterval(timer);
}
