import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** A postgresql:// URL for the ordinary pg driver. */
  url: string;
  /** How many connections are open to it now. */
  connections(): number;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) and serves it on a loopback port, so the
 * service reaches it through the same pg driver adapter as a real PostgreSQL. `dataDir` undefined
 * keeps the database in memory (tests); `image`, a data folder from PGlite's `dumpDataDir`, is
 * what it starts from instead of an empty cluster.
 *
 * PGlite is a single session: the socket server queues statements from all connections into it, so
 * callers should use one pooled connection (see db/database.ts).
 */
export async function startEmbeddedPostgres(dataDir?: string, image?: Blob): Promise<EmbeddedPostgres> {
  let releaseLock = () => {};
  if (dataDir) {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    releaseLock = lockDataDir(dir);
  }
  try {
    // An image (a dumped data folder) starts in a fraction of initdb's time: the tests start each
    // in-memory database from one that is already migrated.
    const db = await PGlite.create({ dataDir: dataDir ? resolve(dataDir) : undefined, loadDataDir: image });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
    await server.start();
    return {
      url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
      connections: () => server.getStats().activeConnections,
      async stop() {
        await server.stop();
        await db.close();
        releaseLock();
      },
    };
  } catch (error) {
    releaseLock();
    throw error;
  }
}

/**
 * Two processes writing one PGlite folder would corrupt it, and the service's read cache relies on
 * being the folder's only writer (domain/customers/read-cache.ts), so a pid file guards the folder: the
 * service and the operator CLI both take it, and a second one is refused while the first runs. A
 * pid file whose process is gone (a crash, a kill -9) is stale and taken over. The file is made
 * with O_EXCL, so of two processes starting at once exactly one gets it.
 */
export function lockDataDir(dir: string): () => void {
  const lockFile = join(dir, 'gateway.pid');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = Number(readFileSync(lockFile, 'utf8').trim());
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `The embedded database in ${dir} is in use by process ${holder}, and it serves one process at a time. ` +
          'Stop that process first, or set DATABASE_URL to run several processes on one PostgreSQL.',
      );
    }
    // Stale (or our own, left by an earlier open in this process): remove it and take it.
    rmSync(lockFile, { force: true });
  }
  return () => {
    // Only our own: never remove a file another process wrote after taking a stale lock over.
    try {
      if (Number(readFileSync(lockFile, 'utf8').trim()) === process.pid) rmSync(lockFile, { force: true });
    } catch {}
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
