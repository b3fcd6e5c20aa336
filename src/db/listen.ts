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
 * LISTEN on one channel over a dedicated connection, reconnecting every `retryMs` while the
 * database is away. The handlers are told when the subscription is up or down, so a cache that
 * relies on it can fall back to a short lifetime while it cannot hear changes.
 */
export class Listener {
  private client?: pg.Client;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly handlers: ListenHandlers,
    private readonly retryMs = 1000,
  ) {}

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
      this.handlers.down();
      client.end().catch(() => {});
      if (!this.stopped) this.timer = setTimeout(() => void this.connect(), this.retryMs);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.handlers.notify(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      if (!lost) this.handlers.up();
    } catch {
      onLost();
    }
  }
}
