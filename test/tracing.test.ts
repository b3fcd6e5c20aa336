import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/kernel/secrets.js';
import { SharedRateLimiter } from '../src/domain/shared-rate-limit.js';
import { activeTracer } from '../src/kernel/telemetry.js';
import { flushTraces, startTracing, stopTracing } from '../src/boot/tracing.js';
import { createTestApp, type TestApp } from './helpers.js';
import { redisAnswers } from './processes.js';
import { sseReader } from './sse.js';

/**
 * OpenTelemetry, on as an operator turns it on (the standard OTEL_* variables, OTLP over
 * http/json), exporting to a receiver in this test: the spans of a REST read, a GraphQL query, a
 * write and streamed events, each parented to the caller's `traceparent`, the SQL statements under
 * them, the log lines carrying the trace id, and not one secret, key hash or request body in any
 * byte exported.
 */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  events?: { name: string; attributes?: { key: string; value: Record<string, unknown> }[] }[];
}

const received: string[] = [];
const spans: OtlpSpan[] = [];
let receiver: Server;
let t: TestApp;
let otelEnv: Record<string, string> = {};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push(body);
      if (req.url === '/v1/traces') {
        const json = JSON.parse(body) as { resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const r of json.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  otelEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'customers-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
  Object.assign(process.env, otelEnv);
  expect(await startTracing(process.env)).toBeDefined();
  t = await createTestApp();
});

afterAll(async () => {
  await t?.close();
  await stopTracing();
  // The next test files in this worker share its process: they run untraced, as by default.
  for (const name of Object.keys(otelEnv)) delete process.env[name];
  await new Promise((resolve) => receiver.close(resolve));
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A caller's trace: its traceparent, and the ids in it. */
function callerTrace() {
  const traceId = hex(16);
  const parentId = hex(8);
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
}

/** The spans of a trace, once exported (the processor sends every 50 ms). */
async function spansOf(traceId: string, until: (list: OtlpSpan[]) => boolean): Promise<OtlpSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await flushTraces();
    const list = spans.filter((s) => s.traceId === traceId);
    if (until(list) || Date.now() > deadline) return list;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value && Object.values(value)[0];
};
const childrenOf = (list: OtlpSpan[], parent: OtlpSpan) => list.filter((s) => s.parentSpanId === parent.spanId);
const SERVER = 2;
const CLIENT = 3;

describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  it('a REST read: one server span under the caller\'s traceparent, its SQL under it, traceresponse answered, the log line carrying the ids', async () => {
    const c = await t.customer();
    const { traceId, parentId, traceparent } = callerTrace();
    const res = await t.http('GET', `/customers/${c.uuid}`, { key: c.key, headers: { traceparent } });
    expect(res.status).toBe(200);
    const list = await spansOf(traceId, (l) => l.some((s) => s.kind === SERVER));
    const server = list.find((s) => s.kind === SERVER)!;
    expect(server).toMatchObject({ name: 'GET /customers/{customer}', parentSpanId: parentId });
    expect(attribute(server, 'http.route')).toBe('/customers/{customer}');
    expect(Number(attribute(server, 'http.response.status_code'))).toBe(200);
    expect(res.headers.get('traceresponse')).toBe(`00-${traceId}-${server.spanId}-01`);

    // The customer was read (a miss of the read cache, when there is one): a SQL span under the server span.
    const sql = childrenOf(list, server).filter((s) => s.kind === CLIENT && attribute(s, 'db.system.name') === 'postgresql');
    expect(sql.length).toBeGreaterThan(0);
    expect(sql.every((s) => typeof attribute(s, 'db.query.text') === 'string')).toBe(true);

    const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.route === '/customers/{customer}' && l.trace_id === traceId);
    expect(line).toMatchObject({ trace_id: traceId, span_id: server.spanId, status: 200 });
  });

  it('a GraphQL query: parse, validate and execute under the server span, named by the operation, its SQL under execute', async () => {
    const c = await t.customer();
    const { traceId, parentId, traceparent } = callerTrace();
    const res = await t.http('POST', '/graphql', { key: c.key, headers: { traceparent }, body: { query: 'query Mine { me { name settings { concurrencyLimit } } }' } });
    expect(res.status).toBe(200);
    const list = await spansOf(traceId, (l) => l.some((s) => s.kind === SERVER) && l.some((s) => s.name.startsWith('graphql.execute')));
    const server = list.find((s) => s.kind === SERVER)!;
    expect(server).toMatchObject({ name: 'POST /graphql', parentSpanId: parentId });
    expect(attribute(server, 'graphql.operation.name')).toBe('Mine');
    const phases = childrenOf(list, server).map((s) => s.name);
    expect(phases).toEqual(expect.arrayContaining(['graphql.parse', 'graphql.validate', 'graphql.execute query Mine']));
    const execute = list.find((s) => s.name === 'graphql.execute query Mine')!;
    expect(childrenOf(list, execute).some((s) => attribute(s, 'db.system.name') === 'postgresql')).toBe(true);
  });

  it('a write: its statements are spans of the request\'s trace', async () => {
    const c = await t.customer();
    const { traceId, traceparent } = callerTrace();
    const res = await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, headers: { traceparent }, body: { limit: 7 } });
    expect(res.status).toBe(200);
    const list = await spansOf(traceId, (l) => l.some((s) => s.kind === SERVER));
    const server = list.find((s) => s.kind === SERVER)!;
    expect(server.name).toBe('PUT /customers/{customer}/concurrency-limit');
    const statements = list.filter((s) => attribute(s, 'db.system.name') === 'postgresql').map((s) => String(attribute(s, 'db.query.text')));
    // The write is one statement: the database function that changes the setting and records its event.
    expect(statements.some((q) => /gateway_write_set_setting/.test(q))).toBe(true);
  });

  it('streams: each event a REST stream or a GraphQL subscription delivers is a span of the trace that opened it', async () => {
    const c = await t.customer();
    const rest = callerTrace();
    const restStream = sseReader((await t.http('GET', '/customers/self/events', { key: c.key, headers: { accept: 'text/event-stream', traceparent: rest.traceparent } })).body!);
    const gql = callerTrace();
    const gqlRes = await t.http('POST', '/graphql', {
      key: c.key,
      headers: { accept: 'text/event-stream', traceparent: gql.traceparent },
      body: { query: 'subscription Watch { customerEvents { id type } }' },
    });
    const gqlStream = sseReader(gqlRes.body!);
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 3 } });
    const [restEvent] = await restStream.next(1);
    const [gqlEvent] = await gqlStream.next(1);
    expect(restEvent).toMatchObject({ event: 'setting.set' });
    expect(JSON.parse(gqlEvent!.data!).data.customerEvents.type).toBe('setting_set');
    await restStream.cancel();
    await gqlStream.cancel();

    const restSpans = await spansOf(rest.traceId, (l) => l.some((s) => s.name === 'event delivered'));
    const delivered = restSpans.find((s) => s.name === 'event delivered')!;
    expect(attribute(delivered, 'event.type')).toBe('setting.set');
    expect(String(attribute(delivered, 'event.id'))).toBe(restEvent!.id);

    const gqlSpans = await spansOf(gql.traceId, (l) => l.some((s) => s.name === 'graphql.subscription.event'));
    const subscribe = gqlSpans.find((s) => s.name === 'graphql.subscribe Watch')!;
    expect(gqlSpans.find((s) => s.name === 'graphql.subscription.event')?.parentSpanId).toBe(subscribe.spanId);
  });

  it('a read-cache lookup is an event of the span that made it', async () => {
    const c = await t.customer();
    const { traceId, traceparent } = callerTrace();
    await t.http('GET', '/customers/self', { key: c.key, headers: { traceparent } });
    const list = await spansOf(traceId, (l) => l.some((s) => s.kind === SERVER));
    const events = list.flatMap((s) => s.events ?? []).filter((e) => e.name === 'cache');
    // Where a read cache serves, each lookup says what it found; where none does, there is nothing to say.
    if (t.services.readCache.stats().serving) expect(events.length).toBeGreaterThan(0);
    else expect(events).toEqual([]);
    for (const event of events) expect(event.attributes?.map((a) => a.key).sort()).toEqual(['cache.hits', 'cache.kind', 'cache.misses']);
  });

  it('exports no secret, key hash or request body: every byte received is searched', async () => {
    const c = await t.customer();
    const marker = `body-marker-${hex(8)}`;
    const { traceId, traceparent } = callerTrace();
    await t.http('PATCH', '/customers/self', { key: c.key, headers: { traceparent }, body: { profile: { note: marker } } });
    const created = (await (await t.http('POST', '/customers/self/apikeys', { key: c.key, body: { name: 'traced' } })).json()) as { secret: string };
    await t.gql(c.key, `mutation { mergeCustomerProfile(profile: { other: "${marker}" }) { name } }`);
    // A secret sent where it does not belong: in the path, and as a name.
    await t.http('GET', `/customers/${created.secret}`, { key: c.key, headers: { traceparent } });
    await spansOf(traceId, (l) => l.filter((s) => s.kind === SERVER).length >= 2);
    await flushTraces();
    const exported = received.join('\n');
    expect(exported.length).toBeGreaterThan(0);
    for (const secret of [c.key, t.systemKey, created.secret]) {
      expect(exported).not.toContain(secret);
      expect(exported).not.toContain(hashSecret(secret));
    }
    expect(exported).not.toContain(marker);
    expect(exported).toContain('customers-under-test');
  });
});

const redisUp = await redisAnswers(6379);
if (!redisUp) console.warn('tracing.test.ts: the Redis span test is skipped: no Redis answers at 127.0.0.1:6379');

describe.skipIf(!redisUp)('with Redis for shared limits', () => {
  it('each Redis command is a client span under the request that made it, named by its command only', async () => {
    const limiter = new SharedRateLimiter({ url: 'redis://127.0.0.1:6379', perSecond: 100, burst: 100 });
    try {
      const keyId = `key_trace${hex(6)}`;
      const principal = { type: 'customer' as const, apiKeyId: 1, keyId, customerId: 1 };
      let traceId = '';
      // Shared once Redis has answered: take until a command has gone to Redis.
      await activeTracer()!.startActiveSpan('caller', async (span) => {
        traceId = span.spanContext().traceId;
        for (let i = 0; i < 50 && limiter.mode() !== 'shared'; i++) await new Promise((r) => setTimeout(r, 20));
        await limiter.take(principal);
        span.end();
      });
      const list = await spansOf(traceId, (l) => l.some((s) => attribute(s, 'db.system.name') === 'redis'));
      const redis = list.filter((s) => attribute(s, 'db.system.name') === 'redis');
      expect(redis.length).toBeGreaterThan(0);
      const caller = list.find((s) => s.name === 'caller')!;
      expect(redis.every((s) => s.kind === CLIENT && s.parentSpanId === caller.spanId)).toBe(true);
      expect(received.join('\n')).not.toContain(keyId);
    } finally {
      await limiter.close();
    }
  });
});

describe('stopped', () => {
  it('traces nothing made afterwards in the process: no tracer, no traceresponse, no trace ids in the log', async () => {
    await stopTracing();
    expect(activeTracer()).toBeUndefined();
    const after = await createTestApp();
    try {
      const c = await after.customer();
      const res = await after.http('GET', '/customers/self', { key: c.key, headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('traceresponse')).toBeNull();
      const line = after.logs.map((l) => JSON.parse(l)).find((l) => l.route === '/customers/{customer}');
      expect(line).toBeDefined();
      expect(line.trace_id).toBeUndefined();
    } finally {
      await after.close();
    }
  });
});
