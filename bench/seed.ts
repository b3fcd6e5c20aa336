import { generateKeyId, generateSecret, hashSecret } from '../src/kernel/secrets.js';
import pg from 'pg';
import { openDatabase, unboundedQuery } from '../src/db/database.js';

export interface Seeded {
  systemKey: string;
  /** Customer keys, with the customer each belongs to. */
  customerKeys: { secret: string; customerId: number; uuid: string }[];
  customers: { id: number; uuid: string; name: string }[];
}

/**
 * Realistic data: 10,000 customers with profiles, the concurrency limit set on 80% of them, and a
 * few hundred customer keys (plus one system key). Set-based SQL, so seeding takes seconds: longer
 * than a request's statement may run, so without that bound (unboundedQuery).
 */
export async function seed(pool: pg.Pool, counts = { customers: 10_000, keys: 300 }): Promise<Seeded> {
  await unboundedQuery(
    pool,
    `INSERT INTO customers (uuid, name, profile, billing_plan)
     SELECT gen_random_uuid(), 'bench-customer-' || i,
            jsonb_build_object('contact-name', 'Contact ' || i, 'contact-email', 'c' || i || '@example.com'),
            CASE WHEN i % 10 = 0 THEN jsonb_build_object('plan', 'pro', 'concurrency', 50) END
     FROM generate_series(1, $1::int) AS i`,
    [counts.customers],
  );
  await unboundedQuery(
    pool,
    `INSERT INTO settings (customer_id, name, value)
     SELECT id, 'concurrency-limit', to_jsonb(id % 100 + 1) FROM customers WHERE id % 5 <> 0`,
  );
  const { rows: customers } = await pool.query<{ id: number; uuid: string; name: string }>(
    'SELECT id, uuid, name FROM customers ORDER BY id',
  );
  const keyed = customers.filter((_, i) => i % Math.floor(customers.length / counts.keys) === 0).slice(0, counts.keys);
  const customerKeys = keyed.map((c) => ({ secret: generateSecret(), customerId: c.id, uuid: c.uuid }));
  const systemKey = generateSecret();
  const rows = [
    ...customerKeys.map((k) => [generateKeyId(), 'bench', 'customer', hashSecret(k.secret), k.customerId]),
    [generateKeyId(), 'bench-system', 'system', hashSecret(systemKey), null],
  ];
  await unboundedQuery(
    pool,
    `INSERT INTO api_keys (key_id, name, type, secret_hash, customer_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::"ApiKeyType"[], $4::text[], $5::int[])`,
    [0, 1, 2, 3, 4].map((col) => rows.map((r) => r[col])),
  );
  return { systemKey, customerKeys, customers };
}

/** How many customers the write scenarios spread their writes over. */
export const WRITE_CUSTOMERS = 50;

/**
 * The write scenarios' customers: `count` spread over the seeded ones, each given a concurrency
 * limit where the seed left it unset, so a bare write's UPDATE always finds its row. Their UUIDs.
 */
export async function prepareWrites(pool: pg.Pool, seeded: Seeded, count = WRITE_CUSTOMERS): Promise<string[]> {
  const n = seeded.customers.length;
  const chosen = Array.from({ length: count }, (_, i) => seeded.customers[(i * 199 + 4) % n]!);
  await pool.query(
    `INSERT INTO settings (customer_id, name, value)
     SELECT id, 'concurrency-limit', to_jsonb(id % 100 + 1) FROM customers WHERE id = ANY($1::int[])
     ON CONFLICT (customer_id, name) DO NOTHING`,
    [chosen.map((c) => c.id)],
  );
  return chosen.map((c) => c.uuid);
}

/**
 * A seeded database with its write targets: the database `name` made afresh on the PostgreSQL
 * server `baseUrl` names (its URL answered), or an embedded one in the folder `dataDir`.
 */
export async function seededDatabase(
  where: { baseUrl: string; name: string } | { dataDir: string },
): Promise<{ url?: string; seeded: Seeded; writeUuids: string[] }> {
  let url: string | undefined;
  if ('baseUrl' in where) {
    const admin = new pg.Client({ connectionString: where.baseUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${where.name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${where.name}`);
    await admin.end();
    const u = new URL(where.baseUrl);
    u.pathname = `/${where.name}`;
    url = u.toString();
  }
  const database = await openDatabase(url ? { url } : { dataDir: (where as { dataDir: string }).dataDir });
  try {
    const seeded = await seed(database.pool);
    return { url, seeded, writeUuids: await prepareWrites(database.pool, seeded) };
  } finally {
    await database.close();
  }
}
