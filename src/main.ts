import cluster from 'node:cluster';
import { runPrimary } from './boot/cluster.js';
import { loadConfig } from './boot/config.js';
import { createLogger } from './boot/logger.js';
import { serve } from './boot/serve.js';

/**
 * The only module with start-up side effects. WORKERS=1 (the default) serves in this process;
 * more makes this process a cluster primary that runs that many workers on one port (boot/cluster.ts),
 * each of which comes back here and serves.
 */
const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);

if (cluster.isPrimary && config.WORKERS > 1) {
  await runPrimary(config, logger);
} else if (cluster.isWorker) {
  // Workers' lines carry their pid, so a log tells the replicas apart.
  await serve(config, logger.child({ pid: process.pid }), { bootstrapKey: false });
} else {
  await serve(config, logger, { bootstrapKey: true });
}
