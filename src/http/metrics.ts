import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RateLimitMode } from '../domain/rate-limit.js';
import type { ReadCacheStats } from '../domain/customers/read-cache.js';

/** What the pool tells about its connections (a pg Pool has these). */
export interface PoolStats {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The process's Prometheus metrics, in a registry of its own (so several apps in one process, as in
 * the tests, do not collide): requests by route template and status, their latency, the database
 * pool, and Node's default process metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    pool?: PoolStats,
    statements?: () => number,
    rateLimitMode?: () => RateLimitMode,
    readCache?: () => ReadCacheStats,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    if (pool) {
      new Gauge({
        name: 'db_pool_connections',
        help: 'Database pool connections: all open ones, and the idle ones among them',
        labelNames: ['state'],
        registers,
        collect() {
          this.set({ state: 'total' }, pool.totalCount);
          this.set({ state: 'idle' }, pool.idleCount);
        },
      });
      new Gauge({
        name: 'db_pool_waiting_clients',
        help: 'Queries waiting for a database connection',
        registers,
        collect() {
          this.set(pool.waitingCount);
        },
      });
    }
    if (statements) {
      new Counter({
        name: 'db_statements_total',
        help: 'SQL statements sent to the database',
        registers,
        collect() {
          this.reset();
          this.inc(statements());
        },
      });
    }
    if (readCache) {
      new Counter({
        name: 'read_cache_lookups_total',
        help: 'Customer, settings and key-list lookups of the read cache, by result (hit: answered from memory; miss: read from the database)',
        labelNames: ['result'],
        registers,
        collect() {
          const { hits, misses } = readCache();
          this.reset();
          this.inc({ result: 'hit' }, hits);
          this.inc({ result: 'miss' }, misses);
        },
      });
      new Gauge({
        name: 'read_cache_customers',
        help: 'Customers held by the read cache',
        registers,
        collect() {
          this.set(readCache().size);
        },
      });
    }
    // Only where Redis is configured: 0 means each process is limiting on its own (Redis away).
    if (rateLimitMode && rateLimitMode() !== 'local') {
      new Gauge({
        name: 'rate_limit_shared',
        help: 'Whether per-key rate limits are shared through Redis right now (1) or limited per process because Redis does not answer (0)',
        registers,
        collect() {
          this.set(rateLimitMode() === 'shared' ? 1 : 0);
        },
      });
    }
  }

  /** `route` is a template (`/customers/{customer}`) or `unmatched`, so the label set stays small. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method: METHODS.has(method) ? method : 'OTHER', route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
