import { AppError } from '../../kernel/errors.js';

type Wake = () => void;

/** One open stream's place in the hub: given back when the stream ends; closed by the hub at shutdown. */
export interface StreamSlot {
  /** What the stream does when the hub ends it (shutdown). */
  onClose(close: (reason: string) => void): void;
  release(): void;
}

/**
 * Where this process's open event streams wait for news. A stream registers for one customer (or
 * for all, the operator's `/events`) and is woken when that customer may have new events: by a
 * commit in this process (`committed`), by the database's NOTIFY from any process (`notified`), and,
 * while that feed is down, by a poll every `pollMs` so delivery stays within a second. A wake only
 * says "look": streams read the event log after the last id they sent, so nothing is lost or sent
 * twice, whichever of these arrive, twice or not at all.
 */
export class EventHub {
  private readonly byCustomer = new Map<number, Set<Wake>>();
  private readonly everyone = new Set<Wake>();
  private readonly openByKey = new Map<number, number>();
  private readonly closers = new Set<(reason: string) => void>();
  private poll?: NodeJS.Timeout;
  private closed = false;

  /** Until the change feed says it is up (every database has one), streams are polled. */
  constructor(private readonly pollMs = 1000) {
    this.setFeed(false);
  }

  get streams(): number {
    return this.closers.size;
  }

  /** A transaction of this process committed events of these customers. */
  committed(customerIds: Iterable<number>): void {
    for (const id of customerIds) this.wake(id);
  }

  /** A NOTIFY arrived: `<customer id>:<event id>`. */
  notified(payload: string | undefined): void {
    const id = Number(payload?.split(':')[0]);
    if (Number.isInteger(id)) this.wake(id);
  }

  /** The feed went up (every stream catches up once) or down (streams are polled until it is back). */
  setFeed(up: boolean): void {
    clearInterval(this.poll);
    this.poll = undefined;
    if (up) this.wakeAll();
    else if (!this.closed) {
      this.poll = setInterval(() => this.wakeAll(), this.pollMs);
      this.poll.unref();
    }
  }

  /** Registers a stream: woken for `customerId`'s events, or for everyone's when undefined. */
  subscribe(customerId: number | undefined, wake: Wake): () => void {
    if (customerId === undefined) {
      this.everyone.add(wake);
      return () => this.everyone.delete(wake);
    }
    let set = this.byCustomer.get(customerId);
    if (!set) this.byCustomer.set(customerId, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (set.size === 0) this.byCustomer.delete(customerId);
    };
  }

  /** Takes one of a key's stream slots, or refuses with 429 when it holds `max` already. */
  open(apiKeyId: number, max: number): StreamSlot {
    if (this.closed) throw new AppError('UNAVAILABLE', 'The service is shutting down; reconnect shortly');
    const count = this.openByKey.get(apiKeyId) ?? 0;
    if (count >= max) {
      throw new AppError('RATE_LIMITED', `This API key has ${count} event streams open, the most it may; close one first`, {
        'retry-after': '1',
      });
    }
    this.openByKey.set(apiKeyId, count + 1);
    let close: (reason: string) => void = () => {};
    const closer = (reason: string) => close(reason);
    this.closers.add(closer);
    let released = false;
    return {
      onClose: (fn) => void (close = fn),
      release: () => {
        if (released) return;
        released = true;
        this.closers.delete(closer);
        const left = (this.openByKey.get(apiKeyId) ?? 1) - 1;
        if (left > 0) this.openByKey.set(apiKeyId, left);
        else this.openByKey.delete(apiKeyId);
      },
    };
  }

  /** Shutdown: ends every open stream, and refuses new ones. */
  close(reason = 'The service is shutting down; reconnect to resume'): void {
    this.closed = true;
    clearInterval(this.poll);
    for (const close of [...this.closers]) close(reason);
  }

  private wake(customerId: number): void {
    for (const wake of this.byCustomer.get(customerId) ?? []) wake();
    for (const wake of this.everyone) wake();
  }

  private wakeAll(): void {
    for (const set of this.byCustomer.values()) for (const wake of set) wake();
    for (const wake of this.everyone) wake();
  }
}
