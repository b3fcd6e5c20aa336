import type { Sql } from '../../db/database.js';
import { forbidden, unauthenticated } from '../../kernel/errors.js';
import { Lru } from '../../kernel/lru.js';
import { hashSecret, parseBearer } from '../../kernel/secrets.js';
import type { Principal } from './principal.js';

interface CacheEntry {
  /** undefined: the key is unknown, suspended or deleted, or its customer is deleted. */
  principal?: Principal;
  customerActive: boolean;
  expires: number;
  /**
   * The key row and customer the secret named, refused or not, so that a change to either drops
   * the entry: a suspended key's refusal is forgotten when it is resumed, like an acceptance when
   * it is suspended. Absent only for a secret that names no key at all.
   */
  apiKeyId?: number;
  keyId?: string;
  customerId?: number | null;
}

/**
 * Verifies bearer secrets. A verified (or refused) secret is remembered, keyed by its hash, so a
 * steady stream of requests costs no authentication query. A change made through this process is
 * applied when its statement ends (domain/events/after-write.ts calls `invalidateKey` / `invalidate`),
 * before the write answers, so this process's next request sees it, accepted or refused. Changes
 * made elsewhere reach the cache in one of two ways: while a change feed is up (PostgreSQL
 * LISTEN/NOTIFY fed by triggers on the keys and customers tables; on the embedded database, whose
 * only writer is this process, its own announcements), each change drops entries at once and
 * entries live `listeningTtlMs`; without it, entries live only `ttlMs`, which bounds how late a
 * change made by another process is seen.
 */
export class Authenticator {
  /** At most `maxEntries` secrets, the first remembered dropped first. */
  private readonly cache: Lru<string, CacheEntry>;
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  /** Moves on every invalidation, so a lookup that raced with one is not cached. */
  private generation = 0;
  private listening = false;

  constructor(
    private readonly sql: Sql,
    private readonly ttlMs: number,
    private readonly listeningTtlMs = 60_000,
    maxEntries = 10_000,
  ) {
    this.cache = new Lru(maxEntries, { order: 'insertion' });
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** The change feed is up (true) or lost (false); either way the cache starts afresh. */
  setListening(listening: boolean): void {
    this.listening = listening;
    this.invalidate();
  }

  /**
   * A notification on the feed: `key:<keyId>` or `customer:<id>` (this process's own announcements
   * on the embedded database) drop what they name; anything else (PostgreSQL's triggers name only
   * the table) drops everything.
   */
  notified(payload: string | undefined): void {
    if (payload?.startsWith('key:')) return this.invalidateKey(payload.slice(4));
    const customerId = payload?.startsWith('customer:') ? Number(payload.slice(9)) : NaN;
    this.invalidate(Number.isInteger(customerId) ? customerId : undefined);
  }

  async authenticate(authorization: string | null | undefined): Promise<Principal> {
    const secret = parseBearer(authorization);
    if (!secret) throw unauthenticated();
    return this.authenticateHash(hashSecret(secret));
  }

  /**
   * The key whose secret has this hash, under the same rules and cache: how a stream opened with a
   * ticket (domain/events/tickets.ts) keeps checking the key that asked for the ticket.
   */
  async authenticateHash(hash: string): Promise<Principal> {
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.expires <= now) entry = await this.load(hash);
    if (!entry.principal) throw unauthenticated('The API key is unknown or has been revoked');
    if (!entry.customerActive) throw forbidden('The customer account of this API key is inactive');
    return entry.principal;
  }

  /** Forget everything cached for keys of this customer (or all keys when omitted), accepted or refused. */
  invalidate(customerId?: number): void {
    this.forget();
    if (customerId === undefined) return this.cache.clear();
    for (const [hash, entry] of this.cache) if (entry.customerId === customerId) this.cache.delete(hash);
  }

  /** Forget what is cached for one key (its numeric id or its public keyId), accepted or refused. */
  invalidateKey(key: number | string): void {
    this.forget();
    for (const [hash, entry] of this.cache) if (entry.apiKeyId === key || entry.keyId === key) this.cache.delete(hash);
  }

  /**
   * A lookup in flight may have read the rows before the change: it is not cached (the generation
   * moved), and no later request joins it, so the next request reads afresh.
   */
  private forget(): void {
    this.generation++;
    this.inflight.clear();
  }

  private load(hash: string): Promise<CacheEntry> {
    // Concurrent requests with the same key share one query.
    let pending = this.inflight.get(hash);
    if (!pending) {
      const query: Promise<CacheEntry> = this.query(hash).finally(() => {
        if (this.inflight.get(hash) === query) this.inflight.delete(hash);
      });
      pending = query;
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  private async query(hash: string): Promise<CacheEntry> {
    const generation = this.generation;
    const ttl = this.listening ? this.listeningTtlMs : this.ttlMs;
    // Deleted keys and keys of deleted customers are read too (and refused), so that the refusal is
    // remembered with the ids a later change would name.
    const [key] = await this.sql<{
      id: number;
      keyId: string;
      type: 'customer' | 'system';
      active: boolean;
      customerId: number | null;
      customerActive: boolean | null;
      gone: boolean;
    }>(
      `SELECT k.id, k.key_id AS "keyId", k.type::text AS type, k.active, k.customer_id AS "customerId",
              c.active AS "customerActive", (k.deleted_at IS NOT NULL OR c.deleted_at IS NOT NULL) AS gone
       FROM api_keys k LEFT JOIN customers c ON c.id = k.customer_id
       WHERE k.secret_hash = $1`,
      [hash],
    );
    const expires = Date.now() + ttl;
    const ids = key && { apiKeyId: key.id, keyId: key.keyId, customerId: key.customerId };
    let entry: CacheEntry;
    if (!key || !key.active || key.gone) {
      entry = { customerActive: true, expires, ...ids };
    } else if (key.type === 'system') {
      entry = { principal: { type: 'system', apiKeyId: key.id, keyId: key.keyId }, customerActive: true, expires, ...ids };
    } else {
      entry = {
        principal: { type: 'customer', apiKeyId: key.id, keyId: key.keyId, customerId: key.customerId! },
        customerActive: key.customerActive ?? false,
        expires,
        ...ids,
      };
    }
    if (ttl > 0 && generation === this.generation) this.cache.set(hash, entry);
    return entry;
  }
}
