/**
 * graphql-jit, measured in-process: the app as createApp builds it, with and without
 * src/graphql/jit.ts's plugin, answering the same GraphQL documents through `app.fetch` (no
 * sockets, so the figures are the service's own cost plus its PostgreSQL round trips).
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/jit.ts
 *
 * Both variants share one scratch database (made and dropped on TEST_DATABASE_URL's server, or an
 * in-memory embedded one without it) and one set of services. Per round, each variant runs each
 * document sequentially and with JIT_CONCURRENCY requests in flight; rounds alternate which variant
 * goes first, since a shared machine drifts. CPU is this process's user+system time per request
 * (PostgreSQL's own CPU is not in it).
 *
 * Environment: JIT_N (requests per one-customer measurement, 20000), JIT_ALIAS_N (per 50-alias
 * measurement, JIT_N / 10), JIT_WARMUP (2000), JIT_ROUNDS (3), JIT_CONCURRENCY (32),
 * JIT_AUTH_CACHE_MS (60000: a verified key stays cached, as with the change feed up), JIT_ONLY
 * (`graphql-js` or `graphql-jit`: measure that variant alone, e.g. under `node --cpu-prof`).
 *
 * The variants are createApp's GRAPHQL_JIT off and on (a document is compiled after its tenth
 * execution, well within the warm-up: the figures are a hot document's steady state).
 */
import { Writable } from 'node:stream';
import { createApp } from '../src/boot/app.js';
import { insertKey } from '../src/domain/auth/api-keys.js';
import { createLogger } from '../src/boot/logger.js';
import { createServices } from '../src/boot/services.js';
import { createTestDatabase } from '../test/helpers.js';

const N = Number(process.env.JIT_N ?? 20_000);
const ALIAS_N = Number(process.env.JIT_ALIAS_N ?? Math.max(1, Math.round(N / 10)));
const WARMUP = Number(process.env.JIT_WARMUP ?? 2_000);
const ROUNDS = Number(process.env.JIT_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.JIT_CONCURRENCY ?? 32);
const AUTH_CACHE_MS = Number(process.env.JIT_AUTH_CACHE_MS ?? 60_000);

type App = ReturnType<typeof createApp>;

const database = await createTestDatabase();
let statements = 0;
database.onStatement(() => statements++);
// The log line is part of every request's cost; its bytes are dropped.
const sink = new Writable({ write: (_chunk, _enc, done) => done() });
const logger = createLogger('info', sink);
const services = createServices(database, { authCacheTtlMs: AUTH_CACHE_MS, activityFlushMs: 60_000, events: { heartbeatMs: 15_000 } });
const appOptions = { CORS_ORIGINS: [], GRAPHQL_INTROSPECTION: true, METRICS: true };

const plain = createApp(services, logger, { ...appOptions, GRAPHQL_JIT: false });
const jit = createApp(services, logger, { ...appOptions, GRAPHQL_JIT: true });
const variants = (
  [
    ['graphql-js', plain],
    ['graphql-jit', jit],
  ] as [string, App][]
).filter(([name]) => !process.env.JIT_ONLY || process.env.JIT_ONLY === name);

// 50 customers, each with a setting; the first one's key reads itself, the system key reads all.
const system = await insertKey(database.prisma, { name: 'bench-system', type: 'system' });
const customers = [];
for (let i = 0; i < 50; i++) {
  const row = await database.prisma.customer.create({ data: { uuid: crypto.randomUUID(), name: `bench-${i}`, active: true } });
  await database.prisma.setting.create({ data: { customerId: row.id, name: 'concurrency-limit', value: 10 + i } });
  customers.push(row);
}
const own = await insertKey(database.prisma, { name: 'bench', type: 'customer', customerId: customers[0]!.id });

const SELF = '{ customer(id: "self") { uuid name active settings { items { name value } } } }';
const ALIASES = `{ ${customers
  .map((c, i) => `c${i}: customer(id: "${[c.uuid, String(c.id), c.name][i % 3]}") { uuid name active settings { items { name value } } }`)
  .join(' ')} }`;
const documents = [
  { name: 'one customer', key: own.secret, query: SELF, n: N },
  { name: '50 aliases', key: system.secret, query: ALIASES, n: ALIAS_N },
];

let failures = 0;
function request(app: App, key: string, body: string): Promise<string> {
  return Promise.resolve(
    app.fetch('http://bench/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body,
    }),
  ).then(async (res) => {
    const text = await res.text();
    if (res.status !== 200 || text.includes('"errors"')) {
      if (failures++ < 3) console.error(`unexpected answer ${res.status}: ${text.slice(0, 300)}`);
    }
    return text;
  });
}

async function run(app: App, key: string, body: string, n: number, inFlight: number) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await request(app, key, body);
    }
  };
  const sqlBefore = statements;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  return { rps: (n * 1000) / ms, cpuUs: (cpu.user + cpu.system) / n, sql: (statements - sqlBefore) / n };
}

// The same answer from both executors.
for (const d of documents) {
  const body = JSON.stringify({ query: d.query });
  const [a, b] = [await request(plain, d.key, body), await request(jit, d.key, body)];
  if (a !== b) throw new Error(`${d.name}: graphql-js and graphql-jit answer differently:\n${a}\n${b}`);
}

for (const [, app] of variants) {
  for (const d of documents) await run(app, d.key, JSON.stringify({ query: d.query }), Math.min(WARMUP, d.n), CONCURRENCY);
}

type Key = `${string}|${string}|${string}`;
const results = new Map<Key, { rps: number; cpuUs: number; sql: number }[]>();
console.log(`N=${N} (50 aliases: ${ALIAS_N}), ${ROUNDS} rounds, ${CONCURRENCY} in flight, load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)}`);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? variants : [...variants].reverse();
  for (const [variant, app] of order) {
    for (const d of documents) {
      for (const [mode, inFlight] of [
        ['sequential', 1],
        [`${CONCURRENCY} in flight`, CONCURRENCY],
      ] as const) {
        const r = await run(app, d.key, JSON.stringify({ query: d.query }), d.n, inFlight);
        const key: Key = `${d.name}|${mode}|${variant}`;
        results.set(key, [...(results.get(key) ?? []), r]);
        console.log(
          `round ${round + 1}  ${variant.padEnd(11)}  ${d.name.padEnd(12)}  ${mode.padEnd(13)}  ${r.rps.toFixed(0).padStart(6)} req/s  ${r.cpuUs.toFixed(0).padStart(6)} µs CPU/req  ${r.sql.toFixed(2)} SQL/req`,
        );
      }
    }
  }
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[Math.floor(mid)]!;
};
console.log('\nmedians over rounds');
console.log('| document | mode | graphql-js req/s | graphql-jit req/s | graphql-js µs CPU/req | graphql-jit µs CPU/req | CPU change |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const d of documents) {
  for (const mode of ['sequential', `${CONCURRENCY} in flight`]) {
    const js = results.get(`${d.name}|${mode}|graphql-js`);
    const jt = results.get(`${d.name}|${mode}|graphql-jit`);
    if (!js || !jt) continue;
    const [jsRps, jtRps] = [median(js.map((r) => r.rps)), median(jt.map((r) => r.rps))];
    const [jsCpu, jtCpu] = [median(js.map((r) => r.cpuUs)), median(jt.map((r) => r.cpuUs))];
    console.log(
      `| ${d.name} | ${mode} | ${jsRps.toFixed(0)} | ${jtRps.toFixed(0)} | ${jsCpu.toFixed(0)} | ${jtCpu.toFixed(0)} | ${(((jtCpu - jsCpu) / jsCpu) * 100).toFixed(1)}% |`,
    );
  }
}
if (failures) console.log(`\n${failures} unexpected answers`);

await services.activity.stop();
await database.close();
process.exit(failures ? 1 : 0);
