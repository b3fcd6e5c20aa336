import DataLoader from 'dataloader';
import type { Db } from './db/database.js';
import type { ApiKey, Customer, Setting } from './generated/prisma/client.js';

/**
 * Per-request loaders: every customer, settings list and key list that one request touches is read
 * in one statement per kind, however many aliases, list items or nested fields ask for it.
 */
export function createLoaders(db: Db) {
  /** Keys are `id:<n>`, `uuid:<uuid>` or `name:<name>` (customers/identifiers.ts refKey). */
  const customer: DataLoader<string, Customer | null> = new DataLoader(async (keys) => {
    const ids: number[] = [];
    const uuids: string[] = [];
    const names: string[] = [];
    for (const key of keys) {
      const value = key.slice(key.indexOf(':') + 1);
      if (key.startsWith('id:')) ids.push(Number(value));
      else if (key.startsWith('uuid:')) uuids.push(value);
      else names.push(value);
    }
    // Settings come in the same statement: almost every request that reads a customer reads them.
    const rows = await db.customer.findMany({
      relationLoadStrategy: 'join',
      include: { settings: { orderBy: { name: 'asc' } } },
      where: {
        OR: [
          ...(ids.length ? [{ id: { in: ids } }] : []),
          ...(uuids.length ? [{ uuid: { in: uuids } }] : []),
          ...(names.length ? [{ name: { in: names } }] : []),
        ],
      },
    });
    const byKey = new Map<string, Customer>();
    for (const { settings: own, ...row } of rows) {
      settings.prime(row.id, own);
      byKey.set(`id:${row.id}`, row);
      byKey.set(`uuid:${row.uuid}`, row);
      byKey.set(`name:${row.name}`, row);
    }
    // Later lookups of the same customer by another identifier are answered from the cache.
    const requested = new Set(keys);
    for (const [key, row] of byKey) if (!requested.has(key)) customer.prime(key, row);
    return keys.map((key) => byKey.get(key) ?? null);
  });

  const settings = new DataLoader<number, Setting[]>(async (customerIds) => {
    const rows = await db.setting.findMany({
      where: { customerId: { in: [...customerIds] } },
      orderBy: { name: 'asc' },
    });
    return customerIds.map((id) => rows.filter((row) => row.customerId === id));
  });

  const apiKeys = new DataLoader<number, ApiKey[]>(async (customerIds) => {
    const rows = await db.apiKey.findMany({
      where: { customerId: { in: [...customerIds] } },
      orderBy: { id: 'asc' },
    });
    return customerIds.map((id) => rows.filter((row) => row.customerId === id));
  });

  return {
    customer,
    settings,
    apiKeys,
    /** After a write: later reads in the same request see the new state. */
    primeCustomer(row: Customer) {
      for (const key of [`id:${row.id}`, `uuid:${row.uuid}`, `name:${row.name}`]) customer.clear(key).prime(key, row);
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
