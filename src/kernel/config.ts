import { z } from 'zod';
import { SECRET_PATTERN } from './secrets.js';

/** An HTTP header name (RFC 9110 token), lower case. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const DEFAULT_CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-request-id',
  // EventSource libraries send it when they resume a stream; a browser asks first (preflight).
  'last-event-id',
  'traceparent',
  'tracestate',
  'baggage',
  'sentry-trace',
];

/**
 * The settings the environment may give (docs/operations.md), with their defaults. Read once at
 * start (boot/config.ts loadConfig); the doors read the part the HTTP application takes (AppOptions).
 */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  // The connection the change feed LISTENs on. LISTEN needs a session of its own, which a pooler in
  // transaction mode (PgBouncer) does not keep: point this at PostgreSQL itself, or a session-mode
  // pool, when DATABASE_URL goes through one. Defaults to DATABASE_URL.
  LISTEN_DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./data'),
  // Shared rate limits: with a Redis URL every process using it takes from the same per-key bucket.
  REDIS_URL: z.string().url().optional(),
  // Worker processes on one port (node:cluster), each a full replica. 1 runs no cluster at all.
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  ADMIN_API_KEY: z
    .string()
    .regex(SECRET_PATTERN, 'ADMIN_API_KEY must be "XI" followed by 32 characters from [A-Za-z0-9]')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  // Request headers a browser on an allowed origin may send: the API's own, and the tracing headers
  // OpenTelemetry and Sentry browser kits add (without them the preflight fails and so does the call).
  CORS_ALLOWED_HEADERS: z
    .string()
    .default(DEFAULT_CORS_ALLOWED_HEADERS.join(','))
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(HEADER_NAME, 'CORS_ALLOWED_HEADERS must be comma-separated header names')).min(1)),
  // A JSON file mapping document ids (hashes) to documents, as graphql-codegen's client preset writes
  // persisted-documents.json: when set, only those documents run over GraphQL.
  TRUSTED_DOCUMENTS: z.string().min(1).optional(),
  // How long a verified key is trusted before it is read again: the bound on how late a revocation
  // made by another process takes effect here.
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  // How often coalesced lastActivity/lastUsedAt timestamps are written.
  ACTIVITY_FLUSH_MS: z.coerce.number().int().min(10).max(600_000).default(5000),
  // Per customer key: requests a second on average, and the burst allowed at once. 0 turns it off.
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(100_000).default(50),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // Events are kept this many days; pruning runs in the background every hour.
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  // Live event streams (REST SSE and GraphQL subscriptions) one key may hold open at once.
  MAX_STREAMS_PER_KEY: z.coerce.number().int().min(1).max(10_000).default(20),
  // How often an idle event stream sends a heartbeat comment, so proxies keep it open.
  SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  // Customers (with settings and key lists) held in memory per process; 0 disables the read cache.
  READ_CACHE_SIZE: z.coerce.number().int().min(0).max(10_000_000).default(10_000),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  // Bounds on every wait for the database (docs/operations.md, Deployment notes): for a pooled connection (or a
  // new one) and for one statement's answer (the client gives up; the server's statement_timeout
  // is the same). A request that cannot get an answer fails with 503 within
  // DB_CONNECT_TIMEOUT_MS + 2 × DB_QUERY_TIMEOUT_MS (a write's statement, then its rollback).
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  // The change feed's staleness bound: its LISTEN connection round-trips a heartbeat every quarter
  // of it and counts as down (caches bypassed, key trust AUTH_CACHE_TTL_MS) once silent for three.
  FEED_TIMEOUT_MS: z.coerce.number().int().min(200).max(600_000).default(2000),
  // How long GET /ready waits for the database before answering 503.
  READY_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  // One Redis command's timeout; after a failure, limits stay per process for REDIS_RETRY_MS
  // without touching Redis, then it is tried again.
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  REDIS_RETRY_MS: z.coerce.number().int().min(100).max(600_000).default(1000),
  METRICS: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  // Repeated GraphQL queries and mutations run compiled by graphql-jit (src/graphql/jit.ts).
  GRAPHQL_JIT: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  GRAPHQL_INTROSPECTION: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  // The largest request body either door reads (413 PAYLOAD_TOO_LARGE beyond it).
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  // GraphQL operation limits (graphql-armor), each a 400 BAD_REQUEST when exceeded. Introspection
  // (`__schema`) is not counted for depth and cost, so GraphiQL's introspection query passes.
  // Field nesting: the deepest real query (customers → edges → node → settings → items → name) is 6.
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(10),
  // Aliased fields per operation: 50 aliased customer lookups (the benchmark) fit twice.
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(100),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(10_000).default(50),
  // Lexical tokens of the document, checked while parsing (GraphiQL's introspection query has ~190).
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5000),
  // graphql-armor's cost: 1 a scalar, 2 an object, ×1.5 a level, × `first`/`last` of lists.
  GRAPHQL_MAX_COST: z.coerce.number().int().min(1).max(100_000_000).default(50_000),
});

export type Config = z.infer<typeof envSchema>;

/** Every setting at its default (what an empty environment gives). */
export const configDefaults: Config = envSchema.parse({});

/** The options createApp may be given without; the defaults above apply. */
const APP_DEFAULTED = [
  'CORS_ALLOWED_HEADERS',
  'GRAPHQL_JIT',
  'TRUSTED_DOCUMENTS',
  'MAX_BODY_BYTES',
  'GRAPHQL_MAX_DEPTH',
  'GRAPHQL_MAX_ALIASES',
  'GRAPHQL_MAX_DIRECTIVES',
  'GRAPHQL_MAX_TOKENS',
  'GRAPHQL_MAX_COST',
] as const satisfies (keyof Config)[];

/** What the HTTP application reads of the configuration. */
export type AppOptions = Pick<Config, 'CORS_ORIGINS' | 'GRAPHQL_INTROSPECTION' | 'METRICS' | (typeof APP_DEFAULTED)[number]>;
/** The application's options as a caller may give them: those left out take their defaults. */
export type AppInput = Omit<AppOptions, (typeof APP_DEFAULTED)[number]> & Partial<AppOptions>;

export function appOptions(input: AppInput): AppOptions {
  const options = { ...input } as AppOptions;
  for (const name of APP_DEFAULTED) (options as Record<string, unknown>)[name] = input[name] ?? configDefaults[name];
  return options;
}
