import { z } from 'zod';

const secretPattern = /^XI[A-Za-z0-9]{32}$/;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./data'),
  ADMIN_API_KEY: z
    .string()
    .regex(secretPattern, 'ADMIN_API_KEY must be "XI" followed by 32 characters from [A-Za-z0-9]')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  // How long a verified key is trusted before it is read again: the bound on how late a revocation
  // made by another process takes effect here.
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  // How often coalesced lastActivity/lastUsedAt timestamps are written.
  ACTIVITY_FLUSH_MS: z.coerce.number().int().min(10).max(600_000).default(5000),
  // Per customer key: requests a second on average, and the burst allowed at once. 0 turns it off.
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(100_000).default(50),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(100),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  METRICS: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  GRAPHQL_INTROSPECTION: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
});

export type Config = z.infer<typeof envSchema>;

/** Parses the environment once; a bad value stops start-up with a message naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return parsed.data;
}
