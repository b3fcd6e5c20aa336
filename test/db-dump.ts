import type { TestApp } from './helpers.js';

/**
 * The rows a refused request must leave alone: customers, settings and API keys, in id order.
 * `customers.last_activity` and `api_keys.last_used_at` are left out: the activity recorder writes
 * them in the background (and notes refused-but-authenticated requests too).
 */
export interface Dump {
  customers: Record<string, unknown>[];
  settings: Record<string, unknown>[];
  api_keys: Record<string, unknown>[];
}

// One statement for the three tables, every other column included (a column added later is compared too).
const DUMP = `
  SELECT json_build_object(
    'customers', (SELECT COALESCE(jsonb_agg(to_jsonb(c) - 'last_activity' ORDER BY c.id), '[]'::jsonb) FROM customers c),
    'settings',  (SELECT COALESCE(jsonb_agg(to_jsonb(s) ORDER BY s.id), '[]'::jsonb) FROM settings s),
    'api_keys',  (SELECT COALESCE(jsonb_agg(to_jsonb(k) - 'last_used_at' ORDER BY k.id), '[]'::jsonb) FROM api_keys k)
  )::text AS dump`;

export async function dumpDatabase(t: Pick<TestApp, 'database'>): Promise<Dump> {
  const [row] = await t.database.prisma.$queryRawUnsafe<{ dump: string }[]>(DUMP);
  return JSON.parse(row!.dump) as Dump;
}
