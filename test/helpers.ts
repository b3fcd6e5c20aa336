import { inject } from 'vitest';
import { newDatabase } from './databases.js';
import { giveBackEmbedded, takeEmbedded } from './embedded-pool.js';
import { Writable } from 'node:stream';
import { createApp, type App } from '../src/boot/app.js';
import { insertKey } from '../src/domain/auth/api-keys.js';
import { createServices, type Services } from '../src/boot/services.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { createLogger } from '../src/boot/logger.js';

/**
 * A fresh, migrated database: a new database on TEST_DATABASE_URL's server when it is set, else an
 * in-memory embedded PostgreSQL. Both start from the migrated copy test/global-setup.ts made once
 * (a template database, a dumped data folder; an embedded one an earlier file emptied, see
 * embedded-pool.ts); opening one still checks every migration is applied.
 */
export async function createTestDatabase(): Promise<Database & { url?: string }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) {
    const embedded = await takeEmbedded();
    const database = await openDatabase({ embedded }).catch(async (error) => {
      await embedded.stop();
      throw error;
    });
    return {
      ...database,
      async close() {
        try {
          await database.close();
        } finally {
          await giveBackEmbedded(embedded);
        }
      },
    };
  }
  const created = await newDatabase(base, { template: inject('templateDatabase') });
  const database = await openDatabase({ url: created.url, poolSize: 10 });
  return {
    ...database,
    url: created.url,
    async close() {
      await database.close();
      await created.drop();
    },
  };
}

export interface TestApp {
  app: App;
  database: Database;
  services: Services;
  /** SQL statements sent since the last `queries.length = 0`. */
  queries: string[];
  logs: string[];
  systemKey: string;
  gql(key: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GqlResult>;
  http(method: string, path: string, options?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** A customer with one customer key, created straight through the database. */
  customer(name?: string, data?: { billingPlan?: object; active?: boolean }): Promise<{ id: number; uuid: string; name: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

export interface GqlResult {
  status: number;
  data?: any;
  errors?: { message: string; extensions?: { code?: string; http?: { status?: number } }; path?: string[] }[];
}

let counter = 0;

export async function createTestApp(
  options: { authCacheTtlMs?: number; rateLimit?: { perSecond: number; burst: number }; maxStreamsPerKey?: number } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const queries: string[] = [];
  database.onStatement((text) => queries.push(text));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('info', sink);
  const services = createServices(database, {
    authCacheTtlMs: options.authCacheTtlMs ?? 0,
    activityFlushMs: 60_000,
    rateLimit: options.rateLimit,
    // A client cancelling a stream is noticed at its next write: a short heartbeat keeps tests quick.
    events: { heartbeatMs: 500, ...(options.maxStreamsPerKey ? { maxStreamsPerKey: options.maxStreamsPerKey } : {}) },
  });
  const app = createApp(services, logger, { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true });
  const system = await insertKey(database.prisma, { name: 'test-system', type: 'system' });

  const http = httpClient(app);

  return {
    app,
    database,
    services,
    queries,
    logs,
    systemKey: system.secret,
    http,
    async gql(key, query, variables) {
      // As current GraphQL clients ask: the GraphQL-over-HTTP media type first, so request errors keep their 4xx.
      const res = await http('POST', '/graphql', {
        key,
        body: { query, variables },
        headers: { accept: 'application/graphql-response+json, application/json;q=0.9' },
      });
      const json = (await res.json()) as GqlResult;
      return { status: res.status, data: json.data, errors: json.errors };
    },
    async customer(name, data = {}) {
      const row = await database.prisma.customer.create({
        data: {
          uuid: crypto.randomUUID(),
          name: name ?? `customer-${process.pid}-${++counter}`,
          billingPlan: data.billingPlan,
          active: data.active ?? true,
        },
      });
      const key = await insertKey(database.prisma, { name: 'test', type: 'customer', customerId: row.id });
      return { id: row.id, uuid: row.uuid, name: row.name, key: key.secret, keyId: key.keyId };
    },
    async close() {
      await services.activity.stop();
      await database.close();
    },
  };
}

/** Calls an app in-process: a bearer key, a JSON body (a string is sent as is), extra headers. */
export function httpClient(app: { fetch: App['fetch'] }): TestApp['http'] {
  return (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    return Promise.resolve(app.fetch(`http://test${path}`, { method, headers, body }));
  };
}
