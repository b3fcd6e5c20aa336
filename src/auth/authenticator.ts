import type { Db } from '../db/database.js';
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
 * Verifies bearer secrets. A verified (or refused) secret is remembered for `ttlMs`, keyed by its
 * hash, so a steady stream of requests costs no authentication query; a revocation or
 * deactivation made by another process therefore takes effect here within `ttlMs`. Changes made
 * through this process call `invalidate*` and take effect at once.
 */
export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async authenticate(authorization: string | null | undefined): Promise<Principal> {
    const secret = parseBearer(authorization);
    if (!secret) throw unauthenticated();
    const hash = hashSecret(secret);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.expires <= now) entry = await this.load(hash);
    if (!entry.principal) throw unauthenticated('The API key is unknown or has been revoked');
    if (!entry.customerActive) throw forbidden('The customer account of this API key is inactive');
    return entry.principal;
  }

  /** Forget everything cached for keys of this customer (or all keys when omitted). */
  invalidate(customerId?: number): void {
    if (customerId === undefined) return this.cache.clear();
    for (const [hash, entry] of this.cache) {
      if (entry.principal?.type === 'customer' && entry.principal.customerId === customerId) this.cache.delete(hash);
    }
  }

  invalidateKey(apiKeyId: number): void {
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
    // One statement (Prisma would split the relation into a second query).
    const [key] = await this.db.$queryRaw<
      { id: number; keyId: string; type: 'customer' | 'system'; active: boolean; customerId: number | null; customerActive: boolean | null }[]
    >`SELECT k.id, k.key_id AS "keyId", k.type::text AS type, k.active, k.customer_id AS "customerId", c.active AS "customerActive"
      FROM api_keys k LEFT JOIN customers c ON c.id = k.customer_id
      WHERE k.secret_hash = ${hash}`;
    const expires = Date.now() + this.ttlMs;
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
    if (this.ttlMs > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(hash, entry);
    }
    return entry;
  }
}
