import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createApp } from './app.js';
import { bootstrapSystemKey } from './auth/api-keys.js';
import { loadConfig } from './config.js';
import { createServices } from './context.js';
import { openDatabase } from './db/database.js';
import { startPruning } from './events/retention.js';
import { createLogger, describeError } from './logger.js';

/** The only module with start-up side effects: configuration, database, listening, shutdown. */
const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);

const database = await openDatabase({
  url: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  poolSize: config.DB_POOL_SIZE,
}).catch((error: unknown) => {
  logger.fatal({ err: describeError(error), reason: error instanceof Error ? error.message : String(error) }, 'cannot open the database');
  logger.flush(() => process.exit(1));
  return new Promise<never>(() => {});
});
logger.info({ database: database.kind, dataDir: database.kind === 'embedded' ? config.DATA_DIR : undefined }, 'database ready');

const created = await bootstrapSystemKey(database.prisma, config.ADMIN_API_KEY);
if (created) {
  // Printed once, straight to the terminal, never through the logger.
  process.stdout.write(
    `\nNo system API key existed, so one was created. It is shown only this once:\n\n  ${created.secret}\n\n` +
      `(keyId ${created.keyId}). Set ADMIN_API_KEY to choose your own.\n\n`,
  );
}

const services = createServices(database, {
  authCacheTtlMs: config.AUTH_CACHE_TTL_MS,
  activityFlushMs: config.ACTIVITY_FLUSH_MS,
  rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
  onError: (error) => logger.warn({ err: describeError(error) }, 'could not record activity'),
  events: {
    retentionDays: config.EVENT_RETENTION_DAYS,
    maxStreamsPerKey: config.MAX_STREAMS_PER_KEY,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
  },
});
const stopPruning = startPruning(database.sql, config.EVENT_RETENTION_DAYS, (error) =>
  logger.warn({ err: describeError(error) }, 'could not prune events'),
);
const app = createApp(services, logger, config);
let stopping = false;
const server = createServer(app);
server.keepAliveTimeout = 65_000;

// Responses not yet finished. Once shutdown begins, each response closes its connection: keep-alive
// clients would otherwise hold the server open until their idle timeout (or our 10 s cut-off).
const inFlight = new Set<ServerResponse>();
server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
  if (stopping) response.setHeader('connection', 'close');
  inFlight.add(response);
  response.on('close', () => {
    inFlight.delete(response);
    // The connection is idle now: close it rather than keep it alive.
    if (stopping) setImmediate(() => server.closeIdleConnections());
  });
});

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
  // Stop accepting; end the event streams (each with a last `event: end`; clients resume from their
  // Last-Event-ID elsewhere); finish in-flight requests; then flush activity and close the database.
  stopPruning();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  services.events.hub.close();
  server.closeIdleConnections();
  for (const response of inFlight) if (!response.headersSent) response.setHeader('connection', 'close');
  const timer = setTimeout(() => server.closeAllConnections(), 10_000);
  await closed;
  clearTimeout(timer);
  await services.activity.stop();
  await database.close();
  logger.info('stopped');
  logger.flush(() => process.exit(0));
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
