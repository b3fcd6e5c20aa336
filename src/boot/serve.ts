import cluster from 'node:cluster';
import pg from 'pg';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from './app.js';
import { bootstrapSystemKey } from '../domain/auth/api-keys.js';
import { databaseTimeouts, type Config } from './config.js';
import { createServices } from './services.js';
import { openDatabase, type Database } from '../db/database.js';
import { KEEPALIVE } from '../db/keepalive.js';
import { attachWebSocket } from '../graphql/websocket.js';
import { startPruning } from '../domain/events/retention.js';
import { describeError } from '../kernel/errors.js';
import type { Logger } from './logger.js';
import { startTracing, stopTracing } from './tracing.js';

/** How often, during shutdown, connections holding no request are looked at (and closed). */
const DRAIN_ROUND_MS = 200;
/** At shutdown, the pause between looks for connections the kernel completed but Node has not taken yet. */
const ACCEPT_ROUND_MS = 20;

// Any constant both processes agree on; not Prisma's migration lock, which start-up takes too.
const BOOTSTRAP_LOCK = 72707370;

/** Opens the database (applying pending migrations), or logs why not and exits 1. */
export async function openOrExit(config: Config, logger: Logger): Promise<Database> {
  return openDatabase({
    url: config.DATABASE_URL,
    listenUrl: config.LISTEN_DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DB_POOL_SIZE,
    timeouts: databaseTimeouts(config),
  }).catch((error: unknown) => {
    logger.fatal({ err: describeError(error), reason: error instanceof Error ? error.message : String(error) }, 'cannot open the database');
    logger.flush(() => process.exit(1));
    return new Promise<never>(() => {});
  });
}

/**
 * Makes sure a system key exists (ADMIN_API_KEY's, or a new one printed once). Replicas starting
 * together on an empty database take turns under an advisory lock, so one creates the key and the
 * others find it: it is printed once, and ADMIN_API_KEY is not inserted twice.
 */
export async function bootstrap(database: Database, config: Pick<Config, 'DATABASE_URL' | 'ADMIN_API_KEY'>): Promise<void> {
  // A connection of its own, so the key's writes (on the pool) never wait behind it. The embedded
  // database serves one process only: nothing to take turns with there.
  const lock = config.DATABASE_URL ? new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 5000, ...KEEPALIVE }) : undefined;
  try {
    await lock?.connect();
    await lock?.query('SELECT pg_advisory_lock($1)', [BOOTSTRAP_LOCK]);
    const created = await bootstrapSystemKey(database.prisma, config.ADMIN_API_KEY);
    if (created) {
      // Printed once, straight to the terminal, never through the logger.
      process.stdout.write(
        `\nNo system API key existed, so one was created. It is shown only this once:\n\n  ${created.secret}\n\n` +
          `(keyId ${created.keyId}). Set ADMIN_API_KEY to choose your own.\n\n`,
      );
    }
  } finally {
    // Ending the session releases the lock.
    await lock?.end().catch(() => {});
  }
}

/**
 * One full replica: database, services, HTTP server and graceful shutdown. Run by main.ts alone,
 * or in each cluster worker (whose primary has bootstrapped already: `bootstrapKey` false).
 */
export async function serve(config: Config, logger: Logger, options: { bootstrapKey: boolean }): Promise<void> {
  // Before the database and the app: they ask, when built, whether to trace (kernel/telemetry.ts).
  try {
    if (await startTracing()) logger.info({ tracing: 'otlp' }, 'tracing on: spans are exported over OTLP');
  } catch (error) {
    // An OTEL_* value this service cannot honour: say which, and stop, as a bad setting does.
    logger.fatal((error as Error).message);
    logger.flush(() => process.exit(1));
    return;
  }
  const database = await openOrExit(config, logger);
  logger.info({ database: database.kind, dataDir: database.kind === 'embedded' ? config.DATA_DIR : undefined }, 'database ready');
  if (options.bootstrapKey) await bootstrap(database, config);

  const services = createServices(database, {
    authCacheTtlMs: config.AUTH_CACHE_TTL_MS,
    activityFlushMs: config.ACTIVITY_FLUSH_MS,
    readCacheSize: config.READ_CACHE_SIZE,
    rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
    redisUrl: config.REDIS_URL,
    redisTimeoutMs: config.REDIS_TIMEOUT_MS,
    redisRetryMs: config.REDIS_RETRY_MS,
    readyTimeoutMs: config.READY_TIMEOUT_MS,
    onRateLimitModeChange: (mode) =>
      mode === 'shared'
        ? logger.info({ rateLimit: mode }, 'rate limits are shared through Redis')
        : logger.warn({ rateLimit: mode }, 'Redis is not answering: rate limits are per process until it does'),
    onError: (error) => logger.warn({ err: describeError(error) }, 'could not record activity'),
    events: {
      retentionDays: config.EVENT_RETENTION_DAYS,
      maxStreamsPerKey: config.MAX_STREAMS_PER_KEY,
      heartbeatMs: config.SSE_HEARTBEAT_MS,
    },
  });
  // Every process prunes (each batch deletes what is still there, so replicas doing it too is harmless).
  const stopPruning = startPruning(database.sql, config.EVENT_RETENTION_DAYS, (error) =>
    logger.warn({ err: describeError(error) }, 'could not prune events'),
  );
  const app = createApp(services, logger, config);
  let stopping = false;
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  // GraphQL over WebSocket, on /graphql on the same port (upgrade requests).
  const websocket = attachWebSocket(server, services, logger, config);

  // Requests in flight on each connection. Once shutdown begins, each response closes its
  // connection: keep-alive clients would otherwise hold the server open until their idle timeout
  // (or our 10 s cut-off).
  const inFlight = new Set<ServerResponse>();
  const busy = new Map<Socket, number>();
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (stopping) response.setHeader('connection', 'close');
    inFlight.add(response);
    const socket = request.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.on('close', () => {
      inFlight.delete(response);
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
    });
  });

  /**
   * Closes the connections that hold no request, without losing one that has arrived: a connection
   * counts as idle only when it has nothing in flight and has read no byte since the previous
   * round, a pause (DRAIN_ROUND_MS) earlier. Bytes already sent get that long to be read and parsed
   * (Node's closeIdleConnections, which server.close calls, would cut a connection whose request is
   * still in the socket's buffer); their request is then answered with Connection: close.
   */
  async function closeIdleSafely(done: Promise<void>): Promise<void> {
    let finished = false;
    void done.then(() => (finished = true));
    const seen = new Map<Socket, number>();
    for (const socket of sockets) seen.set(socket, socket.bytesRead);
    while (!finished && sockets.size > 0) {
      await sleep(DRAIN_ROUND_MS);
      // After a poll phase, so whatever reached the kernel by now has been read.
      await new Promise((resolve) => setImmediate(resolve));
      for (const socket of sockets) {
        const read = socket.bytesRead;
        if (!busy.has(socket) && seen.get(socket) === read) socket.destroy();
        seen.set(socket, read);
      }
    }
  }

  server.listen(config.PORT, config.HOST, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info({ port }, `listening on http://localhost:${port}/graphql`);
  });

  async function shutdown(signal: string) {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A bound on the whole of it: connections are cut after 10 s; the flush and the database close
    // get 10 s more, then the process gives up (exit 1: not a clean stop).
    setTimeout(() => {
      logger.error('shutdown did not finish in 20 s; exiting');
      logger.flush(() => process.exit(1));
    }, 20_000).unref();
    // Stop accepting; close the WebSockets (1001); end the event streams (each with a last `event: end`; clients resume from their
    // Last-Event-ID elsewhere); finish in-flight requests; then flush activity and close the database.
    stopPruning();
    // Connections the kernel has completed are taken before the port closes (closing it resets
    // those still in its accept queue): rounds with a poll phase each, until one brings none. A
    // busy event loop (the embedded database runs in it) may need several.
    for (let round = 0, known = -1; known !== accepted && round < 25; round++) {
      known = accepted;
      await sleep(ACCEPT_ROUND_MS);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // net.Server's close, not http.Server's: that one also cuts every connection it thinks idle
    // at once, including one whose request has arrived but is not parsed yet.
    const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
    // WebSockets close with 1001 (going away) and the reason; their subscriptions end with them.
    const socketsClosed = websocket.close();
    services.events.hub.close();
    for (const response of inFlight) if (!response.headersSent) response.setHeader('connection', 'close');
    void closeIdleSafely(closed);
    const timer = setTimeout(() => server.closeAllConnections(), 10_000);
    await closed;
    await socketsClosed;
    clearTimeout(timer);
    await services.activity.stop();
    await services.rateLimiter.close();
    await database.close();
    await stopTracing();
    logger.info('stopped');
    logger.flush(() => process.exit(0));
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // A worker whose primary is gone gets no more connections: stop cleanly rather than linger.
  if (cluster.isWorker) process.on('disconnect', () => void shutdown('primary gone'));
}
