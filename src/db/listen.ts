import pg from 'pg';

export interface ListenHandlers {
  /** A notification arrived on the channel. */
  notify(payload: string | undefined): void;
  /** The subscription is live: from now on every notification arrives. */
  up(): void;
  /** The subscription is lost: notifications may be missed until `up` is called again. */
  down(): void;
}

/**
 * LISTEN on channels over ONE dedicated connection (each process holds one such connection however
 * many feeds it hears), reconnecting every `retryMs` while the database is away. The handlers are
 * told when the subscription is up or down, so a cache that relies on it can fall back to a short
 * lifetime, and a stream can catch up from the log, while notifications may have been missed.
 */
export class Listener {
  private client?: pg.Client;
  private connected = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** Several subscribers may share a channel (two sets of services on one database, in tests). */
  private readonly channels = new Map<string, ListenHandlers[]>();

  constructor(
    private readonly url: string,
    private readonly retryMs = 1000,
  ) {}

  /** Adds a channel; on a live connection it is LISTENed to at once. */
  add(channel: string, handlers: ListenHandlers): this {
    const known = this.channels.get(channel);
    this.channels.set(channel, [...(known ?? []), handlers]);
    if (known && this.connected) handlers.up();
    else if (this.connected) {
      this.client!.query(`LISTEN ${pg.escapeIdentifier(channel)}`).then(
        () => handlers.up(),
        () => this.client?.end().catch(() => {}),
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
    await this.client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    this.client = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      const wasConnected = this.connected;
      this.connected = false;
      if (wasConnected) for (const handlers of this.all()) handlers.down();
      client.end().catch(() => {});
      if (!this.stopped) this.timer = setTimeout(() => void this.connect(), this.retryMs);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      for (const handlers of this.channels.get(message.channel) ?? []) handlers.notify(message.payload);
    });
    try {
      await client.connect();
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (lost) return;
      this.connected = true;
      for (const handlers of this.all()) handlers.up();
    } catch {
      onLost();
    }
  }

  private all(): ListenHandlers[] {
    return [...this.channels.values()].flat();
  }
}
