import { randomUUID } from 'node:crypto';
import type { Sql } from '../../db/database.js';
import type { ListenHandlers } from '../../db/listen.js';
import type { ApiKey, Customer, Setting } from '../../generated/prisma/client.js';
import { Lru } from '../../kernel/lru.js';
import { parseKey } from './customer-key.js';

/** The channel the triggers of migration 20261130161800_read_cache_notify notify. */
export const READ_CACHE_CHANNEL = 'gateway_cache';

/** What the cache holds of one customer. The objects are shared by every request: never mutate them. */
export interface CachedCustomer {
  customer: Customer;
  /** Its settings, by name. */
  settings: Setting[];
  /** Its non-deleted keys by id, once a request has read them. */
  keys?: ApiKey[];
}

export interface ReadCacheStats {
  hits: number;
  misses: number;
  /** Customers held now. */
  size: number;
  /** Whether the cache answers at all: the change feed is up and the size is above 0. */
  serving: boolean;
}

/**
 * Customers (row and settings) and their key lists, held in memory per process so steady-state
 * reads send no SQL. The request loaders (domain/loaders.ts) ask here first and send one statement per
 * kind for the misses, whose answers fill the cache.
 *
 * It stays exact by these rules:
 * - A write through this process drops the customer it wrote when its statement ends
 *   (domain/events/write.ts `write` → domain/events/after-write.ts), so the next read sees it.
 * - On PostgreSQL, a write by anyone (another process, the CLI, plain SQL) is announced by triggers
 *   on `customers`, `settings` and `api_keys` with a NOTIFY on `gateway_cache` at commit; the
 *   process's LISTEN connection hears it within milliseconds and drops the customer (or its key
 *   list; a `last_activity`-only change updates the cached row in place).
 * - On the embedded database, nothing but this process can write (a pid file guards the data
 *   directory, db/embedded.ts), and every write of this process passes through `write` (the
 *   activity flush announces its new times itself): its own announcements (db/local-feed.ts) are
 *   the whole feed, up from the start.
 * - Every drop moves a generation counter; a miss stores what it read only if the counter has not
 *   moved since its statement was sent, so a read that raced a write never stores the old row.
 * - While the change feed is down (LISTEN connection lost, or never up), notifications may be
 *   missed: the cache is emptied and bypassed (no hits, no fills) until the feed is up again, and it
 *   starts empty then (PostgreSQL only: the embedded database's feed never goes down).
 * - Nothing negative is cached: an identifier that names no customer asks the database each time,
 *   so a customer created anywhere is found at once.
 * - At most `maxEntries` customers are held, least recently used dropped first; 0 disables the cache.
 */
export class ReadCache {
  /** The customers held, least recently used first; one dropped to make room leaves the indexes too. */
  private readonly byId: Lru<number, CachedCustomer>;
  private readonly byUuid = new Map<string, number>();
  private readonly byName = new Map<string, number>();
  private generation = 0;
  private live = false;
  private hits = 0;
  private misses = 0;
  private readonly syncs = new Map<string, () => void>();

  constructor(
    readonly maxEntries: number,
    private readonly sql?: Sql,
    /** The embedded database's `sync`: has every listener start afresh (boot/services.ts). */
    private readonly resync?: () => void,
  ) {
    this.byId = new Lru(maxEntries, { onEvict: (_, entry) => this.unindex(entry) });
  }

  /** True when lookups may answer and fills may store. */
  get serving(): boolean {
    return this.live && this.maxEntries > 0;
  }

  /** Handlers for `database.listen(READ_CACHE_CHANNEL, …)`. */
  readonly feed: ListenHandlers = {
    notify: (payload) => this.notified(payload ?? ''),
    up: () => this.setLive(true),
    down: () => this.setLive(false),
  };

  /**
   * The customer a loader key names (`id:<n>`, `uuid:<uuid>`, `name:<name>`, as
   * domain/customers/customer-key.ts keyOf writes them), or undefined when it must be read.
   */
  lookup(key: string): CachedCustomer | undefined {
    if (!this.serving) {
      this.misses++;
      return undefined;
    }
    const wanted = parseKey(key);
    const uuid = wanted.kind === 'uuid' ? wanted.uuid.toLowerCase() : undefined;
    let id: number | undefined;
    if (wanted.kind === 'id') id = wanted.id;
    else if (uuid !== undefined) id = this.byUuid.get(uuid);
    else if (wanted.kind === 'name') id = this.byName.get(wanted.name);
    const entry = id === undefined ? undefined : this.byId.peek(id);
    // An index entry left by a dropped customer is ignored (the indexes are cleaned lazily too).
    const matches =
      entry && (wanted.kind === 'id' || (wanted.kind === 'uuid' ? entry.customer.uuid === uuid : entry.customer.name === wanted.name));
    if (!matches) {
      this.misses++;
      return undefined;
    }
    this.byId.get(entry.customer.id); // marks it the most recently used
    this.hits++;
    return entry;
  }

  /** A customer's settings when the customer is held. */
  settings(customerId: number): Setting[] | undefined {
    const entry = this.serving ? this.byId.peek(customerId) : undefined;
    if (entry) this.hits++;
    else this.misses++;
    return entry?.settings;
  }

  /** A customer's non-deleted keys when they are held. */
  keys(customerId: number): ApiKey[] | undefined {
    const keys = this.serving ? this.byId.peek(customerId)?.keys : undefined;
    if (keys) this.hits++;
    else this.misses++;
    return keys;
  }

  /** Taken just before a statement whose answer may fill the cache; handed back to `fill*`. */
  ticket(): number {
    return this.generation;
  }

  /** Stores a customer read by a statement sent at `ticket`, unless anything was dropped since. */
  fill(ticket: number, customer: Customer, settings: Setting[]): void {
    if (!this.serving || ticket !== this.generation || customer.deletedAt) return;
    const previous = this.byId.peek(customer.id);
    this.unindex(previous);
    const entry: CachedCustomer = { customer: deepFreeze(customer), settings: freezeAll(settings), keys: previous?.keys };
    // The most recently used now; a new customer in a full cache drops the least recently used.
    this.byId.set(customer.id, entry);
    this.byUuid.set(customer.uuid.toLowerCase(), customer.id);
    this.byName.set(customer.name, customer.id);
  }

  /** Stores the key list of a held customer, read by a statement sent at `ticket`. */
  fillKeys(ticket: number, customerId: number, keys: ApiKey[]): void {
    if (!this.serving || ticket !== this.generation) return;
    const entry = this.byId.peek(customerId);
    if (entry) entry.keys = freezeAll(keys);
  }

  /** Drops the given customers (all when omitted). */
  invalidate(customerIds?: Iterable<number>): void {
    this.generation++;
    if (customerIds === undefined) {
      this.byId.clear();
      this.byUuid.clear();
      this.byName.clear();
      return;
    }
    for (const id of customerIds) this.remove(id);
  }

  /**
   * Resolves once this process has applied every notification sent before the call (a marker sent
   * through the database comes back on the same connection after them). For tests and tools that
   * write with plain SQL and then read through the service. Resolves at once when the cache is
   * bypassed (there is nothing to catch up with). On the embedded database plain SQL announces
   * nothing, so every cache on it (and every key cache) is emptied instead.
   */
  async sync(timeoutMs = 5000): Promise<void> {
    if (this.resync) return this.resync();
    if (!this.serving || !this.sql) return;
    const nonce = randomUUID();
    const heard = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncs.delete(nonce);
        reject(new Error(`The read cache did not hear its sync marker within ${timeoutMs} ms`));
      }, timeoutMs);
      this.syncs.set(nonce, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.sql(`SELECT pg_notify('${READ_CACHE_CHANNEL}', $1)`, [`sync:${nonce}`]);
    await heard;
  }

  stats(): ReadCacheStats {
    return { hits: this.hits, misses: this.misses, size: this.byId.size, serving: this.serving };
  }

  private setLive(live: boolean): void {
    this.live = live;
    this.invalidate();
    // A feed that went down never delivers the markers sent before: let waiters go (reads bypass now).
    if (!live) for (const [nonce, done] of this.syncs) this.syncs.delete(nonce), done();
  }

  private notified(payload: string): void {
    if (payload.startsWith('sync:')) {
      const done = this.syncs.get(payload.slice(5));
      this.syncs.delete(payload.slice(5));
      return done?.();
    }
    if (payload.startsWith('k:')) {
      this.generation++;
      const entry = this.byId.peek(Number(payload.slice(2)));
      if (entry) entry.keys = undefined;
      return;
    }
    if (payload.startsWith('a:')) {
      // Only last_activity moved: keep the customer, with the new time (a new object: rows already
      // handed to requests do not change under them). The generation moves so that a fill that
      // read the older time is not stored.
      const [, id, ms] = payload.split(':');
      this.generation++;
      const entry = this.byId.peek(Number(id));
      // The column never moves backwards (the flush writes GREATEST(stored, new)): nor does the copy.
      const at = Math.max(Number(ms), entry?.customer.lastActivity?.getTime() ?? 0);
      if (entry) entry.customer = deepFreeze({ ...entry.customer, lastActivity: new Date(at) });
      return;
    }
    if (payload.startsWith('u:')) {
      // Only a key's last_used_at moved (the activity flush): the held key list keeps its keys, that
      // one with the new time.
      const [, customerId, keyId, ms] = payload.split(':');
      this.generation++;
      const entry = this.byId.peek(Number(customerId));
      if (entry?.keys) {
        entry.keys = freezeAll(entry.keys.map((key) => (key.id === Number(keyId) ? { ...key, lastUsedAt: new Date(Number(ms)) } : key)));
      }
      return;
    }
    const id = Number(payload);
    // Anything unexpected drops everything: a wrong guess costs reads, never a stale answer.
    this.invalidate(Number.isInteger(id) ? [id] : undefined);
  }

  private remove(id: number): void {
    const entry = this.byId.peek(id);
    if (!entry) return;
    this.byId.delete(id);
    this.unindex(entry);
  }

  private unindex(entry: CachedCustomer | undefined): void {
    if (!entry) return;
    const uuid = entry.customer.uuid.toLowerCase();
    if (this.byUuid.get(uuid) === entry.customer.id) this.byUuid.delete(uuid);
    if (this.byName.get(entry.customer.name) === entry.customer.id) this.byName.delete(entry.customer.name);
  }
}

/**
 * What the cache holds is shared by every request that reads it: frozen, so that code changing a
 * row it was handed (rather than making a new one) fails loudly instead of changing it for others.
 * JSON values (a profile, a setting's value) are frozen through.
 */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Date)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

function freezeAll<T>(rows: T[]): T[] {
  for (const row of rows) deepFreeze(row);
  return Object.freeze(rows) as T[];
}
