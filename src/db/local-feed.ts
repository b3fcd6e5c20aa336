import type { ListenHandlers } from './listen.js';

/**
 * The change feed of the embedded database, inside the process. PGlite's own `listen` does not hear
 * the NOTIFYs raised by statements arriving over its socket, and nothing but this process can write
 * its data directory (a pid file guards it, embedded.ts), so the process's own unit of work is the
 * only source of changes: it announces them here after each write (domain/events/after-write.ts), and every
 * set of services on the database hears them, as they would hear PostgreSQL's NOTIFY. (One process
 * holds one set of services; tests build a second one on the same database to stand for another
 * process.) The feed is up from the start and never goes down.
 */
export class LocalFeed {
  private readonly channels = new Map<string, ListenHandlers[]>();

  add(channel: string, handlers: ListenHandlers): void {
    this.channels.set(channel, [...(this.channels.get(channel) ?? []), handlers]);
    handlers.up();
  }

  /** Delivers at once, before the call returns: the next request of every listener sees it. */
  notify(channel: string, payload: string): void {
    for (const handlers of this.channels.get(channel) ?? []) handlers.notify(payload);
  }
}
