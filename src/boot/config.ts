import { envSchema, type Config } from '../kernel/config.js';

export type { Config };

/** The database's bounds on waits, as openDatabase takes them (db/database.ts). */
export function databaseTimeouts(config: Config) {
  return { connectMs: config.DB_CONNECT_TIMEOUT_MS, queryMs: config.DB_QUERY_TIMEOUT_MS, feedMs: config.FEED_TIMEOUT_MS };
}

/** Parses the environment once; a bad value stops start-up with a message naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}
