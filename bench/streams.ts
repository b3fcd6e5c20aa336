/**
 * The live-events scenario of `npm run bench`, run as its own process (like the load generator) so
 * the service's memory is the service's alone: opens STREAMS Server-Sent Events streams on the
 * customers' own event resources, spread over the seeded customer keys, then makes WRITES profile
 * changes (a few a second, over the customers whose streams are open) and times each delivery from
 * the moment its write was sent to the moment each stream of that customer received it. Prints one
 * JSON line: streams open, the service's RSS before and after opening them, delivery latencies,
 * and how many deliveries never arrived.
 *
 * With BENCH_STREAM_TRANSPORT=websocket, each stream is instead a GraphQL subscription
 * (`customerEvents`) over a WebSocket of its own (graphql-ws's client over `ws`), as a browser tab
 * with Apollo's GraphQLWsLink would hold one.
 *
 *   node --import tsx bench/streams.ts <port> <file with {"keys": [...]}>
 */
import { request, Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [port, file] = [Number(process.argv[2]), process.argv[3]!];
const keys = (JSON.parse(readFileSync(file, 'utf8')) as { keys: string[] }).keys;
const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const WRITES = Number(process.env.BENCH_STREAM_WRITES ?? 300);
const WRITES_PER_SECOND = Number(process.env.BENCH_STREAM_RATE ?? 30);
const RUN = `${Date.now().toString(36)}`;
const TRANSPORT = process.env.BENCH_STREAM_TRANSPORT === 'websocket' ? 'websocket' : 'sse';
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

async function rss(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return Number(line?.split(' ').pop()) / 2 ** 20;
}

/** When each write was sent, by its marker; and every delivery's latency. */
const sentAt = new Map<string, number>();
const latencies: number[] = [];
let expected = 0;
/** Subscriptions refused or failed (WebSocket), and the first reason. */
let failures = 0;
let firstFailure: string | undefined;
const failed = (error: unknown) => {
  failures++;
  firstFailure ??= error instanceof Error ? error.message : JSON.stringify(error);
};

type Changes = { changes?: { profile?: { to?: { bench?: string } } } };

function received(event: Changes | undefined) {
  const marker = event?.changes?.profile?.to?.bench;
  if (marker && sentAt.has(marker)) latencies.push(performance.now() - sentAt.get(marker)!);
}

/** A subscription over a WebSocket of its own; resolves once the socket is acknowledged. */
function openSubscription(key: string): Promise<void> {
  const newest = newestOf.get(key) ?? 0;
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${key}` },
      retryAttempts: 0,
      lazy: false,
      on: { connected: () => resolve() },
      onNonLazyError: reject,
    });
    client.subscribe<{ customerEvents: Changes }>(
      { query: `subscription { customerEvents(after: "${newest}") { changes } }` },
      {
        next: (result) => (result.errors ? failed(result.errors) : received(result.data?.customerEvents)),
        error: (error) => {
          failed(error);
          reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        },
        complete: () => {},
      },
    );
  });
}

function openStream(key: string): Promise<void> {
  if (TRANSPORT === 'websocket') return openSubscription(key);
  const newest = newestOf.get(key) ?? 0;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/customers/self/events',
        agent,
        // Only what happens from now on: start after the customer's newest event.
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', 'last-event-id': String(newest) },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) received(JSON.parse(data.slice(6)) as Changes);
          }
        });
        resolve();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Each key's customer's newest event id: its streams start after it, so they carry only the writes below. */
const newestOf = new Map<string, number>();
async function newestEvent(key: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = (await (await fetch(`http://127.0.0.1:${port}/customers/self/events?after=${after}&limit=500`, {
      headers: { authorization: `Bearer ${key}` },
    })).json()) as { id: number }[];
    if (page.length > 0) after = page.at(-1)!.id;
    if (page.length < 500) return after;
  }
}

async function main() {
  for (const key of keys) newestOf.set(key, await newestEvent(key));
  const before = await rss();
  const streamKeys = Array.from({ length: STREAMS }, (_, i) => keys[i % keys.length]!);
  for (let i = 0; i < streamKeys.length; i += 50) await Promise.all(streamKeys.slice(i, i + 50).map(openStream));
  await new Promise((r) => setTimeout(r, 2000));
  const after = await rss();

  // Each write goes to one customer; every one of its streams should receive it.
  const streamsPerKey = new Map<string, number>();
  for (const key of streamKeys) streamsPerKey.set(key, (streamsPerKey.get(key) ?? 0) + 1);
  const interval = 1000 / WRITES_PER_SECOND;
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < WRITES; i++) {
    const key = keys[(i * 7) % keys.length]!;
    // Unique to this run: a write that sets the value a previous run left changes nothing and so
    // records no event (the SSE and WebSocket runs go over the same customers).
    const marker = `${RUN}-${i}`;
    sentAt.set(marker, performance.now());
    expected += streamsPerKey.get(key) ?? 0;
    writes.push(
      fetch(`http://127.0.0.1:${port}/customers/self`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ profile: { bench: marker } }),
      }).then((r) => r.text()),
    );
    await new Promise((r) => setTimeout(r, interval));
  }
  await Promise.all(writes);
  await new Promise((r) => setTimeout(r, 3000));
  const during = await rss();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  console.log(
    JSON.stringify({
      transport: TRANSPORT,
      streams: STREAMS,
      rssBeforeMb: before,
      rssOpenMb: after,
      rssAfterWritesMb: during,
      writes: WRITES,
      deliveries: latencies.length,
      expected,
      failures,
      firstFailure,
      p50: pct(50),
      p99: pct(99),
      max: latencies.at(-1) ?? NaN,
    }),
  );
  process.exit(0);
}

await main();
