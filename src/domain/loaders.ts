import DataLoader from 'dataloader';
import type { Db, Sql } from '../db/database.js';
import type { ApiKey, Customer, Setting } from '../generated/prisma/client.js';
import type { ReadCache } from './customers/read-cache.js';
import { recordCacheLookup } from '../kernel/telemetry.js';
import { keyOf, keysNaming, parseKey } from './customers/customer-key.js';

/**
 * Per-request loaders: every customer, settings list and key list that one request touches is read
 * in one statement per kind, however many aliases, list items or nested fields ask for it. With a
 * read cache (domain/customers/read-cache.ts), what it holds is answered from memory and only the rest is
 * read (still one statement per kind); what is read fills it.
 */
export function createLoaders(db: Db, sql: Sql, cache?: ReadCache) {
  /** The customer loader's keys that resolved to each customer, so a write can clear them all. */
  const keysOf = new Map<number, Set<string>>();
  const noteKeys = (id: number, keys: string[]) => {
    const known = keysOf.get(id) ?? new Set<string>();
    for (const key of keys) known.add(key);
    keysOf.set(id, known);
  };

  /** Keys are `id:<n>`, `uuid:<uuid>` or `name:<name>`, as domain/customers/customer-key.ts keyOf writes them. */
  const customer: DataLoader<string, Customer | null> = new DataLoader(async (keys) => {
    const byKey = new Map<string, Customer>();
    const ids: number[] = [];
    const uuids: string[] = [];
    const names: string[] = [];
    for (const key of keys) {
      // The process's read cache first (domain/customers/read-cache.ts): only what it lacks is read.
      const held = cache?.lookup(key);
      if (held) {
        noteKeys(held.customer.id, [key]);
        settings.prime(held.customer.id, held.settings);
        byKey.set(key, held.customer);
        continue;
      }
      const wanted = parseKey(key);
      if (wanted.kind === 'id') ids.push(wanted.id);
      else if (wanted.kind === 'uuid') uuids.push(wanted.uuid);
      else names.push(wanted.name);
    }
    const misses = ids.length + uuids.length + names.length;
    if (cache) recordCacheLookup(cache, 'customer', keys.length - misses, misses);
    if (misses > 0) {
      const ticket = cache?.ticket() ?? 0;
      // One statement for the customers and their settings: almost every request that reads a
      // customer reads its settings too.
      const rows = await sql<CustomerRow>(CUSTOMERS_WITH_SETTINGS, [ids, uuids, names]);
      for (const { settings: own, ...row } of rows) {
        const list = own.map(toSetting);
        settings.prime(row.id, list);
        cache?.fill(ticket, row, list);
        for (const key of keysNaming(row)) byKey.set(key, row);
      }
    }
    // Later lookups of the same customer by another identifier are answered from the cache.
    const requested = new Set(keys);
    for (const row of new Set(byKey.values())) {
      const own = keysNaming(row);
      noteKeys(row.id, own);
      for (const key of own) if (!requested.has(key)) customer.prime(key, row);
    }
    return keys.map((key) => {
      const row = byKey.get(key);
      if (row) noteKeys(row.id, [key]);
      return row ?? null;
    });
  });

  const settings = new DataLoader<number, Setting[]>(async (customerIds) => {
    const held = customerIds.map((id) => cache?.settings(id));
    const missing = customerIds.filter((_, i) => !held[i]);
    const rows = missing.length
      ? await db.setting.findMany({
          where: { customerId: { in: missing } },
          orderBy: { name: 'asc' },
        })
      : [];
    return customerIds.map((id, i) => held[i] ?? rows.filter((row) => row.customerId === id));
  });

  const apiKeys = new DataLoader<number, ApiKey[]>(async (customerIds) => {
    const held = customerIds.map((id) => cache?.keys(id));
    const missing = customerIds.filter((_, i) => !held[i]);
    if (missing.length === 0) return held as ApiKey[][];
    const ticket = cache?.ticket() ?? 0;
    const rows = await db.apiKey.findMany({
      // Deleted keys leave every list; suspended ones (active: false) stay.
      where: { customerId: { in: missing }, deletedAt: null },
      orderBy: { id: 'asc' },
    });
    return customerIds.map((id, i) => {
      if (held[i]) return held[i];
      const own = rows.filter((row) => row.customerId === id);
      cache?.fillKeys(ticket, id, own);
      return own;
    });
  });

  return {
    customer,
    settings,
    apiKeys,
    /** Up to `limit` customers with ids above `after`, in id order, each with its settings (one statement). */
    async customerPage(after: number, limit: number): Promise<(Customer & { settings: Setting[] })[]> {
      const rows = await sql<CustomerRow>(CUSTOMER_PAGE, [after, limit]);
      return rows.map((row) => ({ ...row, settings: row.settings.map(toSetting) }));
    },
    /** Forget everything read so far: a long-lived request (a subscription) reads afresh after each change. */
    clearAll() {
      customer.clearAll();
      settings.clearAll();
      apiKeys.clearAll();
    },
    /** After a write: later reads in the same request see the new state. */
    primeCustomer(row: Customer) {
      const own = keysNaming(row);
      noteKeys(row.id, own);
      for (const key of own) customer.clear(key).prime(key, row);
    },
    /** A write changed this customer (domain/events/after-write.ts): this request reads it, its settings and keys afresh. */
    forgetCustomer(id: number) {
      for (const key of keysOf.get(id) ?? []) customer.clear(key);
      customer.clear(keyOf({ kind: 'id', id }));
      keysOf.delete(id);
      settings.clear(id);
      apiKeys.clear(id);
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

const CUSTOMER_COLUMNS = `
  c.id, c.uuid::text AS uuid, c.name, c.active, c.profile, c.billing_plan AS "billingPlan",
  c.created_at AS "createdAt", c.modified_at AS "modifiedAt", c.last_activity AS "lastActivity", c.deleted_at AS "deletedAt",
  COALESCE((SELECT json_agg(json_build_object('id', s.id, 'customerId', s.customer_id, 'name', s.name,
              'value', s.value, 'createdAt', s.created_at, 'modifiedAt', s.modified_at) ORDER BY s.name)
            FROM settings s WHERE s.customer_id = c.id), '[]') AS settings`;

// A deleted customer is found by no identifier.
const CUSTOMERS_WITH_SETTINGS = `
  SELECT ${CUSTOMER_COLUMNS}
  FROM customers c
  WHERE (c.id = ANY($1::int[]) OR c.uuid = ANY($2::uuid[]) OR c.name = ANY($3::text[])) AND c.deleted_at IS NULL`;

const CUSTOMER_PAGE = `
  SELECT ${CUSTOMER_COLUMNS}
  FROM customers c
  WHERE c.id > $1 AND c.deleted_at IS NULL
  ORDER BY c.id
  LIMIT $2`;

/** A setting as a JSON aggregate holds it: its instants as text. */
export type SettingJson = Omit<Setting, 'createdAt' | 'modifiedAt'> & { createdAt: string; modifiedAt: string };

type CustomerRow = Customer & { settings: SettingJson[] };

/** Timestamps arrive as text inside the JSON aggregate (here, and in a write's answer: domain/events/write.ts). */
export function toSetting(row: SettingJson): Setting {
  return { ...row, createdAt: new Date(row.createdAt), modifiedAt: new Date(row.modifiedAt) };
}
