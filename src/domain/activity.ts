import type { Db } from '../db/database.js';
import type { Principal } from './auth/principal.js';

/**
 * Records `lastActivity` (customer) and `lastUsedAt` (key) without a database write per request:
 * requests only note the time in memory, and a timer writes the latest time of each customer and
 * key every `intervalMs` in two statements. The stored values therefore lag by at most one
 * interval (plus the write itself); `stop()` writes what is pending.
 */
export class ActivityRecorder {
  private customers = new Map<number, Date>();
  private keys = new Map<number, Date>();
  /** The customer of each customer key noted, for the key-list payload below. */
  private readonly keyCustomers = new Map<number, number>();
  /**
   * Told, after a flush, what PostgreSQL's triggers announce for it on `gateway_cache`:
   * `a:<customer id>:<ms>` and `u:<customer id>:<key id>:<ms>` (the embedded database, which has no
   * triggers' NOTIFY to hear, wires this to its own feed in boot/services.ts).
   */
  onWritten?: (payload: string) => void;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly db: Db,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  start(): this {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  record(principal: Principal, at = new Date()): void {
    this.keys.set(principal.apiKeyId, at);
    if (principal.type === 'customer') {
      this.customers.set(principal.customerId, at);
      if (this.onWritten) this.keyCustomers.set(principal.apiKeyId, principal.customerId);
    }
  }

  /** Writes pending timestamps; concurrent calls wait for the same write. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.customers.size === 0 && this.keys.size === 0) return;
    const customers = this.customers;
    const keys = this.keys;
    this.customers = new Map();
    this.keys = new Map();
    this.flushing = this.write(customers, keys)
      .then(() => this.announce(customers, keys))
      .catch((error) => {
        // Keep what could not be written for the next attempt, unless newer times arrived.
        for (const [id, at] of customers) if (!this.customers.has(id)) this.customers.set(id, at);
        for (const [id, at] of keys) if (!this.keys.has(id)) this.keys.set(id, at);
        this.onError(error);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private announce(customers: Map<number, Date>, keys: Map<number, Date>): void {
    if (!this.onWritten) return;
    for (const [id, at] of customers) this.onWritten(`a:${id}:${at.getTime()}`);
    for (const [id, at] of keys) {
      const customerId = this.keyCustomers.get(id);
      if (customerId !== undefined) this.onWritten(`u:${customerId}:${id}:${at.getTime()}`);
      if (!this.keys.has(id)) this.keyCustomers.delete(id);
    }
  }

  private async write(customers: Map<number, Date>, keys: Map<number, Date>): Promise<void> {
    // GREATEST keeps the column from moving backwards if another process wrote a later time.
    if (customers.size > 0) {
      await this.db.$executeRaw`
        UPDATE customers AS c SET last_activity = GREATEST(c.last_activity, v.at)
        FROM unnest(${[...customers.keys()]}::int[], ${[...customers.values()]}::timestamptz[]) AS v(id, at)
        WHERE c.id = v.id`;
    }
    if (keys.size > 0) {
      await this.db.$executeRaw`
        UPDATE api_keys AS k SET last_used_at = GREATEST(k.last_used_at, v.at)
        FROM unnest(${[...keys.keys()]}::int[], ${[...keys.values()]}::timestamptz[]) AS v(id, at)
        WHERE k.id = v.id`;
    }
  }
}
