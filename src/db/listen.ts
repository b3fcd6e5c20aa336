import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { KEEPALIVE } from './keepalive.js';

export interface ListenHandlers {
  /** A notification arrived on the channel. */
  notify(payload: string | undefined): void;
  /** The subscription is live: from now on every notification arrives. */
  up(): void;
  /** The subscription is lost: notifications may be missed until `up` is called again. */
  down(): void;
}

/** The LISTEN connection's application_name. */
export const FEED_APPLICATION_NAME = 'gateway-feed';

export interface ListenerOptions {
  /** Reconnection interval while the database is away. */
  retryMs?: number;
  /**
   * The staleness bound: a heartbeat NOTIFY goes round the connection every quarter of it, and a
   * connection that has brought nothing back for three quarters counts as lost. So a change made
   * anywhere is either heard, or the handlers are told `down`, within `timeoutMs`.
   */
  timeoutMs?: number;
  /** Opening the connection (and LISTENing) may take this long before it is tried again. */
  connectMs?: number;
}

/**
 * LISTEN on channels over ONE dedicated connection (each process holds one such connection however
 * many feeds it hears), reconnecting every `retryMs` while the database is away. The handlers are
 * told when the subscription is up or down, so a cache that relies on it can fall back to a short
 * lifetime, and a stream can catch up from the log, while notifications may have been missed.
 *
 * A connection can also die silently (a NAT or firewall dropping the flow: no reset, bytes held):
 * nothing would ever say so, and caches would trust a feed that hears nothing. So the listener
 * NOTIFYs a channel of its own on the same connection every `timeoutMs / 4` and counts the
 * connection as lost when nothing has come back for `timeoutMs * 3 / 4` (checked at each beat).
 */
export class Listener {
  private client?: pg.Client;
  private connected = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private beat?: NodeJS.Timeout;
  /** When the connection last brought anything back (a notification or a heartbeat). */
  private heardAt = 0;
  /** A channel only this listener hears: its heartbeats. */
  private readonly heartbeatChannel = `gateway_heartbeat_${randomBytes(8).toString('hex')}`;
  private readonly retryMs: number;
  private readonly timeoutMs: number;
  private readonly connectMs: number;
  /** Several subscribers may share a channel (two sets of services on one database, in tests). */
  private readonly channels = new Map<string, ListenHandlers[]>();
  /** Drops the current connection (set while one is open). */
  private drop?: () => void;

  constructor(
    private readonly url: string,
    options: ListenerOptions = {},
  ) {
    this.retryMs = options.retryMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.connectMs = options.connectMs ?? 2000;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Adds a channel; on a live connection it is LISTENed to at once. */
  add(channel: string, handlers: ListenHandlers): this {
    const known = this.channels.get(channel);
    this.channels.set(channel, [...(known ?? []), handlers]);
    if (known && this.connected) handlers.up();
    else if (this.connected) {
      this.client!.query(`LISTEN ${pg.escapeIdentifier(channel)}`).then(
        () => handlers.up(),
        () => this.drop?.(),
      );
    }
    return this;
  }

  start(): this {
    void this.connect();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.beat);
    const client = this.client;
    this.drop?.();
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.url,
      // Named, so an operator (or a test) can tell the feed's session in pg_stat_activity.
      application_name: FEED_APPLICATION_NAME,
      connectionTimeoutMillis: this.connectMs,
      // LISTENs and heartbeats; an answer that never comes is the heartbeat's to notice.
      query_timeout: this.timeoutMs,
      ...KEEPALIVE,
    });
    this.client = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      clearInterval(this.beat);
      if (this.drop === onLost) this.drop = undefined;
      const wasConnected = this.connected;
      this.connected = false;
      if (wasConnected) for (const handlers of this.all()) handlers.down();
      // A stalled connection would never finish a polite end: destroy its socket.
      destroy(client);
      if (!this.stopped) this.timer = setTimeout(() => void this.connect(), this.retryMs);
    };
    this.drop = onLost;
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      this.heardAt = Date.now();
      if (message.channel === this.heartbeatChannel) return;
      for (const handlers of this.channels.get(message.channel) ?? []) handlers.notify(message.payload);
    });
    // The whole of connecting and subscribing is bounded too: a stall there is a lost connection.
    const opening = setTimeout(onLost, this.connectMs + this.timeoutMs);
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.heartbeatChannel)}`);
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      clearTimeout(opening);
      if (lost) return;
      this.connected = true;
      this.heardAt = Date.now();
      this.beat = setInterval(() => this.heartbeat(client, onLost), Math.max(10, Math.floor(this.timeoutMs / 4)));
      this.beat.unref();
      for (const handlers of this.all()) handlers.up();
    } catch {
      clearTimeout(opening);
      onLost();
    }
  }

  /** One beat: give up on a connection silent for too long, else send the next heartbeat. */
  private heartbeat(client: pg.Client, onLost: () => void): void {
    if (Date.now() - this.heardAt > (this.timeoutMs * 3) / 4) return onLost();
    client.query(`SELECT pg_notify($1, '')`, [this.heartbeatChannel]).catch(onLost);
  }

  private all(): ListenHandlers[] {
    return [...this.channels.values()].flat();
  }
}

/** Closes a client's socket at once (pg has no public way; a stalled peer never answers `end`). */
function destroy(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  stream?.destroy();
  client.end().catch(() => {});
}
