import type pg from 'pg';
import { generateKeyId, generateSecret, hashSecret } from '../src/kernel/secrets.js';
import { unboundedQuery } from '../src/db/database.js';

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
