import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { bootstrap, openOrExit } from './serve.js';

/** How long the primary waits for its workers' graceful shutdowns (each bounds its own at 20 s). */
const DRAIN_LIMIT_MS = 25_000;
/** A pause before replacing a dead worker, so one that dies at start does not spin the machine. */
const REPLACE_DELAY_MS = 1000;

/**
 * WORKERS=n: this process becomes a node:cluster primary that serves nothing itself. It applies the
 * migrations and makes sure the system key exists (so a new key is printed once, not once a
 * worker), then forks n workers that share the port, each a full replica (serve.ts). A worker that
 * dies is replaced; SIGTERM or SIGINT stops every worker gracefully, then the primary exits 0 (1 if
 * any worker did not stop cleanly).
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  if (!config.DATABASE_URL) {
    logger.fatal(
      { workers: config.WORKERS },
      `WORKERS=${config.WORKERS} needs DATABASE_URL: the embedded database (DATA_DIR) serves one process only. ` +
        'Set DATABASE_URL to a PostgreSQL server, or leave WORKERS unset.',
    );
    logger.flush(() => process.exit(1));
    return;
  }
  const database = await openOrExit(config, logger);
  await bootstrap(database, config);
  await database.close();

  let stopping = false;
  let failed = false;
  // Counted here rather than read from cluster.workers, which drops a worker only once it has both
  // exited and disconnected.
  const live = new Set<Worker>();
  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    logger.info({ worker: worker.process.pid }, 'worker started');
  };
  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    live.delete(worker);
    if (stopping) {
      if (code !== 0) failed = true;
      logger.info({ worker: worker.process.pid, code, signal }, 'worker stopped');
      if (live.size === 0) logger.flush(() => process.exit(failed ? 1 : 0));
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    setTimeout(() => stopping || fork(), REPLACE_DELAY_MS);
  });
  for (let i = 0; i < config.WORKERS; i++) fork();

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the workers');
    setTimeout(() => {
      logger.error('workers did not stop in time; exiting');
      for (const worker of live) worker.process.kill('SIGKILL');
      logger.flush(() => process.exit(1));
    }, DRAIN_LIMIT_MS).unref();
    if (live.size === 0) logger.flush(() => process.exit(0));
    // Each worker runs its own graceful shutdown on SIGTERM (serve.ts).
    for (const worker of live) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
