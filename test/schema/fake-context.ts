import DataLoader from 'dataloader';
import type { Principal } from '../../src/domain/auth/principal.js';
import { customerRow } from '../fixtures.js';
import { parseKey } from '../../src/domain/customers/customer-key.js';
import type { Loaders } from '../../src/domain/loaders.js';
import type { RequestContext } from '../../src/domain/request-context.js';
import type { ApiKey, Customer, Setting } from '../../src/generated/prisma/client.js';

/**
 * The schema tier's request context: the loaders answer from fixtures held in memory, and every
 * way to the database (Prisma, SQL, the authenticator, the event services) throws, so a resolver
 * that would reach past the loaders fails its test by name instead of answering from nowhere.
 */
export interface Fixture {
  customer: Customer;
  settings?: Record<string, unknown>;
  keys?: { keyId: string; name: string; active?: boolean }[];
}

export interface FakeContext {
  context: RequestContext;
  /** The keys of each batch the customer loader was asked for, in order. */
  customerBatches: string[][];
}

const unreachable = (what: string) =>
  new Proxy(() => {}, {
    get: (_target, property) => {
      throw new Error(`the schema tier has no ${what} (${String(property)} was read)`);
    },
    apply: () => {
      throw new Error(`the schema tier has no ${what}`);
    },
  }) as never;

let nextId = 1000;
const at = new Date('2026-01-02T03:04:05.678Z');

export function customer(name: string, data: Partial<Customer> = {}): Customer {
  return customerRow(nextId++, name, { createdAt: at, modifiedAt: at, ...data });
}

export function fakeContext(principal: Principal, fixtures: Fixture[]): FakeContext {
  const customerBatches: string[][] = [];
  const settingsOf = (id: number): Setting[] =>
    Object.entries(fixtures.find((f) => f.customer.id === id)?.settings ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value], i) => ({ id: id * 100 + i, customerId: id, name, value: value as Setting['value'], createdAt: at, modifiedAt: at }));
  const keysOf = (id: number): ApiKey[] =>
    (fixtures.find((f) => f.customer.id === id)?.keys ?? []).map((k, i) => ({
      id: id * 100 + i,
      keyId: k.keyId,
      name: k.name,
      type: 'customer',
      secretHash: 'f'.repeat(64),
      active: k.active ?? true,
      customerId: id,
      createdAt: at,
      modifiedAt: at,
      lastUsedAt: null,
      deletedAt: null,
    }));
  const find = (key: string): Customer | null => {
    const ref = parseKey(key);
    const found = fixtures.find(({ customer: c }) =>
      ref.kind === 'id' ? c.id === ref.id : ref.kind === 'uuid' ? c.uuid === ref.uuid : c.name === ref.name,
    );
    return found && !found.customer.deletedAt ? found.customer : null;
  };

  const customerLoader = new DataLoader<string, Customer | null>(async (keys) => {
    customerBatches.push([...keys]);
    return keys.map(find);
  });
  const settings = new DataLoader<number, Setting[]>(async (ids) => ids.map(settingsOf));
  const apiKeys = new DataLoader<number, ApiKey[]>(async (ids) => ids.map(keysOf));
  const loaders: Loaders = {
    customer: customerLoader,
    settings,
    apiKeys,
    async customerPage(after, limit) {
      return fixtures
        .map((f) => f.customer)
        .filter((c) => c.id > after && !c.deletedAt)
        .sort((a, b) => a.id - b.id)
        .slice(0, limit)
        .map((c) => ({ ...c, settings: settingsOf(c.id) }));
    },
    clearAll() {
      customerLoader.clearAll();
      settings.clearAll();
      apiKeys.clearAll();
    },
    primeCustomer: unreachable('write path'),
    forgetCustomer: unreachable('write path'),
  };

  const context: RequestContext = {
    db: unreachable('Prisma client'),
    sql: unreachable('SQL'),
    principal,
    actor: { keyId: principal.keyId, kind: principal.type },
    reauthenticate: async () => principal,
    loaders,
    authenticator: unreachable('authenticator'),
    events: unreachable('event services'),
  };
  return { context, customerBatches };
}

export const customerKey = (c: Customer): Principal => ({ type: 'customer', apiKeyId: c.id * 100, keyId: `key_${c.id}`, customerId: c.id });
export const systemKey: Principal = { type: 'system', apiKeyId: 1, keyId: 'key_system' };
