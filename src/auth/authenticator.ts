import type { Sql } from '../db/database.js';
import { forbidden, unauthenticated } from '../errors.js';
import { hashSecret, parseBearer } from './keys.js';
import type { Principal } from './principal.js';

interface CacheEntry {
  /** undefined: the key is unknown or revoked. */
  principal?: Principal;
  customerActive: boolean;
  expires: number;
}

/**
 * Verifies bearer secrets. A verified (or refused) secret is remembered, keyed by its hash, so a
 * steady stream of requests costs no authentication query. Changes made through this process call
 * `invalidate*` and take effect at once. Changes made elsewhere reach the cache in one of two ways:
 * while a change feed is up (PostgreSQL LISTEN/NOTIFY, fed by triggers on the keys and customers
 * tables), each change empties the cache at once and entries live `listeningTtlMs`; without it,
 * entries live only `ttlMs`, which bounds how late a change made elsewhere is seen.
 */
export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  /** Moves on every invalidation, so a lookup that raced with one is not cached. */
  private generation = 0;
  private listening = false;

  constructor(
    private readonly sql: Sql,
    private readonly ttlMs: number,
    private readonly listeningTtlMs = 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  get isListening(): boolean {
    return this.listening;
  }

  /** The change feed is up (true) or lost (false); either way the cache starts afresh. */
  setListening(listening: boolean): void {
    this.listening = listening;
    this.invalidate();
  }

  async authenticate(authorization: string | null | undefined): Promise<Principal> {
    const secret = parseBearer(authorization);
    if (!secret) throw unauthenticated();
    return this.authenticateHash(hashSecret(secret));
  }

  /**
   * The key whose secret has this hash, under the same rules and cache: how a stream opened with a
   * ticket (events/tickets.ts) keeps checking the key that asked for the ticket.
   */
  async authenticateHash(hash: string): Promise<Principal> {
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.expires <= now) entry = await this.load(hash);
    if (!entry.principal) throw unauthenticated('The API key is unknown or has been revoked');
    if (!entry.customerActive) throw forbidden('The customer account of this API key is inactive');
    return entry.principal;
  }

  /** Forget everything cached for keys of this customer (or all keys when omitted). */
  invalidate(customerId?: number): void {
    this.generation++;
    if (customerId === undefined) return this.cache.clear();
    for (const [hash, entry] of this.cache) {
      if (entry.principal?.type === 'customer' && entry.principal.customerId === customerId) this.cache.delete(hash);
    }
  }

  invalidateKey(apiKeyId: number): void {
    this.generation++;
    for (const [hash, entry] of this.cache) {
      if (entry.principal?.apiKeyId === apiKeyId) this.cache.delete(hash);
    }
  }

  private load(hash: string): Promise<CacheEntry> {
    // Concurrent requests with the same key share one query.
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.query(hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  private async query(hash: string): Promise<CacheEntry> {
    const generation = this.generation;
    const ttl = this.listening ? this.listeningTtlMs : this.ttlMs;
    const [key] = await this.sql<{
      id: number;
      keyId: string;
      type: 'customer' | 'system';
      active: boolean;
      customerId: number | null;
      customerActive: boolean | null;
    }>(
      `SELECT k.id, k.key_id AS "keyId", k.type::text AS type, k.active, k.customer_id AS "customerId",
              c.active AS "customerActive"
       FROM api_keys k LEFT JOIN customers c ON c.id = k.customer_id
       WHERE k.secret_hash = $1 AND k.deleted_at IS NULL AND c.deleted_at IS NULL`,
      [hash],
    );
    const expires = Date.now() + ttl;
    let entry: CacheEntry;
    if (!key || !key.active) {
      entry = { customerActive: true, expires };
    } else if (key.type === 'system') {
      entry = { principal: { type: 'system', apiKeyId: key.id, keyId: key.keyId }, customerActive: true, expires };
    } else {
      entry = {
        principal: { type: 'customer', apiKeyId: key.id, keyId: key.keyId, customerId: key.customerId! },
        customerActive: key.customerActive ?? false,
        expires,
      };
    }
    if (ttl > 0 && generation === this.generation) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(hash, entry);
    }
    return entry;
  }
}
