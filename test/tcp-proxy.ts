import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server (PostgreSQL, PGlite, Redis), so a test can break the
 * link the two ways networks break:
 * - `cut`: every connection reset, new ones refused (a server or a host going away);
 * - `stall`: connections stay open but no byte moves either way, new connections included (a NAT or
 *   firewall dropping a flow: nothing says so). `restore` then delivers what was held, as TCP's
 *   retransmissions would once the path is back.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  /** Bytes held during a stall, each with the socket it was bound for, in arrival order. */
  private held: { to: Socket; data: Buffer }[] = [];
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      const forward = (from: Socket, to: Socket) =>
        from.on('data', (data) => {
          if (this.stalled) this.held.push({ to, data });
          else to.write(data);
        });
      forward(client, upstream);
      forward(upstream, client);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => {
          this.sockets.delete(s);
          // A side that closes during a stall stays silent to the other until the restore.
          if (this.stalled) this.held.push({ to: s === client ? upstream : client, data: Buffer.alloc(0) });
          else (s === client ? upstream : client).destroy();
        });
        s.on('error', () => {});
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Cuts every connection and stops listening: clients see resets, then refusals. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.stalled = false;
    this.held = [];
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Holds every byte, both ways, on every connection (new ones too) until `restore`. */
  stall(): void {
    this.stalled = true;
  }

  /** After a stall: delivers what was held and forwards again. After a cut: listens again on the same port. Else nothing. */
  async restore(): Promise<void> {
    if (this.stalled) {
      this.stalled = false;
      const held = this.held;
      this.held = [];
      for (const { to, data } of held) {
        if (data.length === 0) to.destroy();
        else if (!to.destroyed) to.write(data);
      }
      return;
    }
    if (!this.server) await this.start(this.port);
  }

  /** The URL of `url`'s server, reached through this proxy. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }
}
