/**
 * `npm run bench`: starts the service on the embedded database (as `npm start` does) and, when
 * DATABASE_URL names a PostgreSQL server, a second service on a scratch database `gateway_bench`
 * made there; seeds each with 10,000 customers; measures the bare node:http baseline once; then
 * drives each scenario from a separate load-generator process over loopback, on one service then
 * the other, scenario by scenario (so a change in the machine's load falls on both alike). Prints
 * one table, and the embedded figures as a share of PostgreSQL's; the same goes to bench/RESULTS.md.
 *
 * Each scenario is measured in BENCH_ROUNDS rounds (2), PostgreSQL first in one and the embedded
 * database first in the next, so neither always follows the other's load.
 *
 * Writes are also measured against a bare write (bench/bare-write-server.ts: node:http and a pg
 * Pool of the service's size running one UPDATE … RETURNING a request) in the same run, on
 * PostgreSQL: the bare write, REST PUT /customers/{uuid}/concurrency-limit and GraphQL
 * setConcurrencyLimit, each request a random one of 50 customers and a random limit, system key.
 * The embedded database is reachable only inside its service process, so there the service's
 * writes are measured without a bare write beside them.
 *
 *   BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_ROUNDS=2 npm run bench
 *   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npm run bench
 *
 * BENCH_ONLY=writes runs only the writes against the bare write (after the same set-up), prints
 * their table and writes it to bench/.data/RESULTS-writes.md, leaving bench/RESULTS.md as it is.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { configDefaults } from '../src/kernel/config.js';
import { benchSettings, runLoad, stop, waitFor, type LoadResult, type Request } from './harness.js';
import { WRITE_CUSTOMERS, seededDatabase, type Seeded } from './seed.js';

const root = new URL('..', import.meta.url).pathname;
/** Measured windows per scenario and database, the databases' order flipped each round. BENCH_ONLY:
 * '' runs everything; 'writes' only the writes against the bare write. */
const { duration, connections, warmup, rounds, baseUrl, only } = benchSettings({ duration: 10, warmup: 3, rounds: 2 });
if (only !== '' && only !== 'writes') throw new Error(`BENCH_ONLY=${only}: only "writes" (or nothing, for the full run) is known`);
/** The service's pool size (DB_POOL_SIZE, which the service takes from this environment too): the bare write's too. */
const poolSize = Number(process.env.DB_POOL_SIZE ?? configDefaults.DB_POOL_SIZE);

/** What bench/streams.ts measured: live event streams held open by one service process. */
interface StreamFigures {
  transport: 'sse' | 'websocket';
  streams: number;
  rssBeforeMb: number;
  rssOpenMb: number;
  rssAfterWritesMb: number;
  writes: number;
  deliveries: number;
  expected: number;
  /** Subscriptions refused or failed (WebSocket). */
  failures?: number;
  p50: number;
  p99: number;
  max: number;
}

interface Row {
  scenario: string;
  /** Which service: 'PostgreSQL' or 'embedded' ('–' for the baseline). */
  database: string;
  rps: number;
  p50: number;
  p99: number;
  sqlPerRequest?: number;
  rssMb?: number;
  errors: number;
}

/** A write scenario's figures: statements per write from the server's own counter. */
interface WriteRow {
  scenario: string;
  database: Kind;
  rps: number;
  p50: number;
  p99: number;
  statementsPerWrite: number;
  /** req/s over the bare write's of the same run and database; undefined where there is none. */
  ratio?: number;
  errors: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A row that sums its rounds: req/s is its requests over its seconds; p50 and p99 are averaged. */
interface RoundSums {
  requests: number;
  seconds: number;
  statements: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Adds one measured round (what `load` answered, and the statements the server counted meanwhile) to a row. */
function addRound(row: RoundSums, r: LoadResult, statements: number): void {
  row.requests += r.requests;
  row.seconds += r.requests / r.rps;
  row.statements += statements;
  row.p50 += r.p50 / rounds;
  row.p99 += r.p99 / rounds;
  row.errors += r.errors + r.non2xx + r.timeouts;
}

function load(port: number, requests: Request[], seconds: number, random = false): Promise<LoadResult> {
  return runLoad(join(root, 'bench/.data/scenario.json'), { port, connections, seconds, requests, random });
}

/** Counters from the service's /metrics: SQL statements sent and resident memory. */
async function metrics(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').pop()) : NaN;
  };
  return { statements: value('db_statements_total'), rss: value('process_resident_memory_bytes') };
}

/**
 * /metrics once the requests of a window that ended have all been answered: read until the
 * statement counter holds still for 300 ms (5 s at most), so statements per request count the
 * statements of every request sent, the last few included.
 */
async function settledMetrics(port: number) {
  let last = await metrics(port);
  for (const until = Date.now() + 5000; Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await metrics(port);
    if (now.statements === last.statements) return now;
    last = now;
  }
  return last;
}

type Kind = 'PostgreSQL' | 'embedded';

interface Prepared {
  env: Record<string, string>;
  seeded: Seeded;
  /** The customers the write scenarios pick from (UUIDs), each with a concurrency limit. */
  writeUuids: string[];
  cleanup: () => Promise<void>;
}

async function prepareDatabase(kind: Kind): Promise<Prepared> {
  if (kind === 'PostgreSQL') {
    const { url, seeded, writeUuids } = await seededDatabase({ baseUrl: baseUrl!, name: 'gateway_bench' });
    return { env: { DATABASE_URL: url! }, seeded, writeUuids, cleanup: async () => {} };
  }
  const dataDir = mkdtempSync(join(root, 'bench/.data/db-'));
  const { seeded, writeUuids } = await seededDatabase({ dataDir });
  // The environment the bench runs in may name a PostgreSQL: this service must not use it.
  return {
    env: { DATA_DIR: dataDir, DATABASE_URL: '' },
    seeded,
    writeUuids,
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

const gql = (key: string, query: string, variables?: Record<string, unknown>): Request => ({
  method: 'POST',
  path: '/graphql',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify(variables ? { query, variables } : { query }),
});
const rest = (key: string, method: string, path: string, body?: unknown): Request => ({
  method,
  path,
  headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

const SELF_QUERY =
  '{ customer(id:"self") { uuid name active profile settings { concurrencyLimit values } concurrencyLimit { limit } } }';

function scenarios(s: Seeded): { name: string; requests: Request[] }[] {
  const keys = s.customerKeys.map((k) => k.secret);
  const pick = (n: number, offset: number) => Array.from({ length: n }, (_, i) => s.customers[(offset + i * 197) % s.customers.length]!);
  const aliasQueries = Array.from({ length: 10 }, (_, q) => {
    const fields = pick(50, q * 13)
      .map((c, i) => `c${i}: customer(id: "${[c.uuid, String(c.id), c.name][i % 3]}") { uuid name settings { concurrencyLimit } }`)
      .join(' ');
    return gql(s.systemKey, `{ ${fields} }`);
  });
  return [
    { name: '2. GraphQL customer(self)', requests: keys.map((k) => gql(k, SELF_QUERY)) },
    { name: '3a. REST GET /customers/self', requests: keys.map((k) => rest(k, 'GET', '/customers/self')) },
    { name: '3b. REST GET /customers/self/settings', requests: keys.map((k) => rest(k, 'GET', '/customers/self/settings')) },
    { name: '4. GraphQL 50 aliased lookups (system key)', requests: aliasQueries },
    {
      name: '5. writes: REST PUT concurrency-limit + GraphQL setCustomerSetting',
      requests: keys.flatMap((k, i) => [
        rest(k, 'PUT', '/customers/self/concurrency-limit', { limit: i % 100 }),
        gql(k, `mutation { setCustomerSetting(name: "concurrency-limit", value: ${(i * 7) % 100}) { modifiedAt } }`),
      ]),
    },
  ];
}

const SET_LIMIT = 'mutation SetLimit($customer: ID!, $limit: Int!) { setConcurrencyLimit(customer: $customer, limit: $limit) { concurrencyLimit { limit } } }';

/**
 * The writes measured against the bare write, all on one list of (customer, limit) pairs drawn at
 * random (a random pair a request): 50 customers, limits 1 to 1000, the system key. The bare write
 * is sent exactly the REST scenario's requests.
 */
function writeScenarios(target: Target): { name: string; bare?: 'update' | 'function'; requests: Request[] }[] {
  const pairs = Array.from({ length: 5000 }, () => ({
    uuid: target.writeUuids[Math.floor(Math.random() * target.writeUuids.length)]!,
    limit: 1 + Math.floor(Math.random() * 1000),
  }));
  const put = pairs.map(({ uuid, limit }) => rest(target.seeded.systemKey, 'PUT', `/customers/${uuid}/concurrency-limit`, { limit }));
  return [
    { name: 'bare write: node:http + pg, one UPDATE … RETURNING', bare: 'update', requests: put },
    { name: "bare write of the service's statement: node:http + pg, one SELECT gateway_write_set_setting(…)", bare: 'function', requests: put },
    { name: 'REST PUT /customers/{uuid}/concurrency-limit', requests: put },
    { name: 'GraphQL setConcurrencyLimit { concurrencyLimit { limit } }', requests: pairs.map(({ uuid, limit }) => gql(target.seeded.systemKey, SET_LIMIT, { customer: uuid, limit })) },
  ];
}

// The machine's 1-minute load average when the run began: figures from a busy machine are low.
const loadAtStart = loadavg()[0]!;

interface Target extends Prepared {
  kind: Kind;
  port: number;
  service: ChildProcess;
}

async function main() {
  mkdirSync(join(root, 'bench/.data'), { recursive: true });
  const kinds: Kind[] = baseUrl ? ['PostgreSQL', 'embedded'] : ['embedded'];
  // The service runs as `npm start` runs it: the bundle of src/main.ts.
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const log = createWriteStream(join(root, 'bench/.data/service.log'));
  const startService = (target: Pick<Target, 'env' | 'port' | 'seeded'>, extra: Record<string, string> = {}) => {
    // The per-key rate limit off (as in bench/compare.ts): the bench measures the request path, and
    // at some 17,000 req/s over its 300 keys the default 50 a second per key would answer 429s.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...target.env,
      ...extra,
      PORT: String(target.port),
      HOST: '127.0.0.1',
      ADMIN_API_KEY: target.seeded.systemKey,
      METRICS: 'on',
      RATE_LIMIT_PER_SECOND: '0',
    };
    if (!env.DATABASE_URL) delete env.DATABASE_URL;
    const child = spawn(process.execPath, [join(root, 'dist/main.mjs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    return child;
  };
  const targets: Target[] = [];
  const rows: Row[] = [];
  const writeRows: WriteRow[] = [];
  const streams: { kind: Kind; figures: StreamFigures[] }[] = [];
  try {
    for (const kind of kinds) {
      console.log(`Seeding ${kind === 'PostgreSQL' ? 'PostgreSQL (gateway_bench)' : 'the embedded database'}…`);
      const prepared = await prepareDatabase(kind);
      const port = await freePort();
      const service = startService({ ...prepared, port }, { WORKERS: '1' });
      targets.push({ kind, port, service, ...prepared });
      await waitFor(`http://127.0.0.1:${port}/ready`, service);
    }

    if (!only) {
      // The baseline answers a body the size of scenario 2's response.
      const first = targets[0]!;
      const sample = first.seeded.customerKeys[0]!.secret;
      const selfBody = await (await fetch(`http://127.0.0.1:${first.port}/graphql`, gqlInit(sample, SELF_QUERY))).text();
      const basePort = await freePort();
      const baseline = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/baseline-server.ts')], {
        env: { ...process.env, PORT: String(basePort), BODY_BYTES: String(Buffer.byteLength(selfBody)) },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitFor(`http://127.0.0.1:${basePort}/`, baseline);
      const baseRequests = [{ method: 'GET', path: '/', headers: {} }];
      await load(basePort, baseRequests, warmup);
      const b = await load(basePort, baseRequests, duration);
      rows.push({ scenario: '1. bare node:http, fixed JSON', database: '–', rps: b.rps, p50: b.p50, p99: b.p99, errors: b.errors + b.non2xx });
      await stop(baseline);

      // Scenario by scenario, each database in turn, in alternating order round by round. A row sums
      // its rounds: req/s over their whole time, SQL/req over all their requests, p50 and p99 the
      // mean of the rounds', RSS after the last.
      const count = scenarios(first.seeded).length;
      for (let i = 0; i < count; i++) {
        const byKind = new Map<Kind, Row & { requests: number; seconds: number; statements: number }>();
        for (let round = 0; round < rounds; round++) {
          for (const target of round % 2 ? [...targets].reverse() : targets) {
            const { name, requests } = scenarios(target.seeded)[i]!;
            process.stdout.write(`${name} (${target.kind}, round ${round + 1})…\n`);
            await load(target.port, requests, warmup);
            const before = await metrics(target.port);
            const r = await load(target.port, requests, duration);
            const after = await metrics(target.port);
            const row = byKind.get(target.kind) ?? { scenario: name, database: target.kind, rps: 0, p50: 0, p99: 0, errors: 0, requests: 0, seconds: 0, statements: 0 };
            addRound(row, r, after.statements - before.statements);
            row.rssMb = after.rss / 1024 / 1024;
            byKind.set(target.kind, row);
          }
        }
        for (const target of targets) {
          const { requests, seconds, statements, ...row } = byKind.get(target.kind)!;
          rows.push({ ...row, rps: requests / seconds, sqlPerRequest: statements / requests });
        }
      }
    }

    writeRows.push(...(await measureWrites(targets)));

    if (!only) {
      // Live event streams on each service (its RSS is read from its /metrics): over SSE, then as
      // GraphQL subscriptions over WebSocket.
      for (const target of targets) {
        process.stdout.write(`live event streams (${target.kind})…\n`);
        const figures = [await measureStreams(target.port, target.seeded, 'sse')];
        process.stdout.write(`live event streams over WebSocket (${target.kind})…\n`);
        figures.push(await measureStreams(target.port, target.seeded, 'websocket'));
        streams.push({ kind: target.kind, figures });
      }

      // The same two reads with WORKERS=2: what a second worker process buys on this machine. Each
      // worker has its own /metrics, so SQL/req and RSS are not given for these rows. PostgreSQL only:
      // the embedded database serves one process.
      const postgres = targets.find((t) => t.kind === 'PostgreSQL');
      if (postgres) {
        await stop(postgres.service);
        postgres.service = startService(postgres, { WORKERS: '2' });
        await waitFor(`http://127.0.0.1:${postgres.port}/ready`, postgres.service);
        for (const { name, requests } of scenarios(postgres.seeded).slice(0, 2)) {
          const label = `6${name.startsWith('2.') ? 'a' : 'b'}. WORKERS=2: ${name.replace(/^[0-9a-z]+\. /, '')}`;
          process.stdout.write(`${label}…\n`);
          await load(postgres.port, requests, warmup);
          const r = await load(postgres.port, requests, duration);
          rows.push({ scenario: label, database: 'PostgreSQL', rps: r.rps, p50: r.p50, p99: r.p99, errors: r.errors + r.non2xx + r.timeouts });
        }
      } else {
        console.log('PostgreSQL and the WORKERS=2 scenarios skipped: set DATABASE_URL to measure them beside the embedded database');
      }

      // The same two reads with tracing on (OpenTelemetry, every request sampled, exported over OTLP
      // http/json to a receiver here that reads and drops it): what tracing costs, beside rows 2 and
      // 3a of the same database (PostgreSQL when it is measured).
      const sink = await otlpSink();
      try {
        const traced = targets[0]!;
        await stop(traced.service);
        traced.service = startService(traced, { WORKERS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
        await waitFor(`http://127.0.0.1:${traced.port}/ready`, traced.service);
        for (const { name, requests } of scenarios(traced.seeded).slice(0, 2)) {
          const label = `7${name.startsWith('2.') ? 'a' : 'b'}. tracing on: ${name.replace(/^[0-9a-z]+\. /, '')}`;
          process.stdout.write(`${label} (${traced.kind})…\n`);
          await load(traced.port, requests, warmup);
          const before = await metrics(traced.port);
          const r = await load(traced.port, requests, duration);
          const after = await metrics(traced.port);
          rows.push({
            scenario: label,
            database: traced.kind,
            rps: r.rps,
            p50: r.p50,
            p99: r.p99,
            sqlPerRequest: (after.statements - before.statements) / r.requests,
            rssMb: after.rss / 1024 / 1024,
            errors: r.errors + r.non2xx + r.timeouts,
          });
        }
        console.log(`tracing on: the receiver took ${sink.spans()} spans in ${sink.requests()} exports`);
      } finally {
        sink.close();
      }
    }
  } finally {
    for (const target of targets) {
      await stop(target.service);
      await target.cleanup();
    }
  }
  if (only) reportWrites(writeRows, targets[0]!.seeded);
  else report(rows, writeRows, targets[0]!.seeded, streams);
}

/**
 * The writes against the bare write: on each database in turn (alternating round by round, the
 * scenarios' order reversed too), the bare write (PostgreSQL only), then REST, then GraphQL. A row
 * sums its rounds as the scenario table's do; statements per write come from the server's own
 * counter (the service's db_statements_total, the bare write's count of its pool's queries).
 */
async function measureWrites(targets: Target[]): Promise<WriteRow[]> {
  const bare = new Map<Kind, Record<'update' | 'function', { port: number; child: ChildProcess }>>();
  try {
    for (const target of targets.filter((t) => t.kind === 'PostgreSQL')) {
      const servers = {} as Record<'update' | 'function', { port: number; child: ChildProcess }>;
      for (const mode of ['update', 'function'] as const) {
        const port = await freePort();
        const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/bare-write-server.ts')], {
          env: { ...process.env, PORT: String(port), DATABASE_URL: target.env.DATABASE_URL, POOL_SIZE: String(poolSize), BARE_WRITE: mode },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        servers[mode] = { port, child };
        await waitFor(`http://127.0.0.1:${port}/ready`, child);
      }
      bare.set(target.kind, servers);
    }
    const sums = new Map<string, WriteRow & { requests: number; sent: number; seconds: number; statements: number }>();
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 ? [...targets].reverse() : targets) {
        const all = writeScenarios(target).filter((w) => !w.bare || bare.has(target.kind));
        for (const { name, bare: isBare, requests } of round % 2 ? all.reverse() : all) {
          const port = isBare ? bare.get(target.kind)![isBare].port : target.port;
          process.stdout.write(`writes: ${name} (${target.kind}, round ${round + 1})…\n`);
          await load(port, requests, warmup, true);
          const before = await settledMetrics(port);
          const r = await load(port, requests, duration, true);
          const after = await settledMetrics(port);
          const key = `${target.kind}\n${name}`;
          const row = sums.get(key) ?? { scenario: name, database: target.kind, rps: 0, p50: 0, p99: 0, statementsPerWrite: 0, errors: 0, requests: 0, sent: 0, seconds: 0, statements: 0 };
          addRound(row, r, after.statements - before.statements);
          row.sent += r.sent;
          sums.set(key, row);
        }
      }
    }
    const rows: WriteRow[] = [];
    for (const target of targets) {
      const mine = [...sums.values()]
        .filter((r) => r.database === target.kind)
        .map(({ requests, sent, seconds, statements, ...row }) => ({ ...row, rps: requests / seconds, statementsPerWrite: statements / sent }));
      const base = bare.has(target.kind) ? mine.find((r) => r.scenario === writeScenarios(target)[0]!.name) : undefined;
      // In the scenarios' own order (bare, REST, GraphQL), whatever order the last round ran them in.
      const order = writeScenarios(target).map((w) => w.name);
      mine.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
      rows.push(...mine.map((r) => ({ ...r, ratio: base ? r.rps / base.rps : undefined })));
    }
    return rows;
  } finally {
    for (const servers of bare.values()) for (const { child } of Object.values(servers)) await stop(child);
  }
}

/** The writes' table and what it measured, for the console and bench/RESULTS.md. */
function writesSection(rows: WriteRow[]): string {
  const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
  const embedded = rows.some((r) => r.database === 'embedded');
  const postgres = rows.some((r) => r.database === 'PostgreSQL');
  const table = [
    '| scenario | database | req/s | × bare write | p50 ms | p99 ms | statements/write | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.database} | ${fmt(r.rps)} | ${r.ratio === undefined ? '–' : `**${fmt(r.ratio, 2)}**`} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.statementsPerWrite, 2)} | ${r.errors} |`,
    ),
  ].join('\n');
  return `
## Writes against a bare write

The bare write is a plain node:http server with a pg Pool of the service's size (${poolSize}) that answers each \`PUT /customers/{uuid}/concurrency-limit\` by one \`UPDATE settings … RETURNING value\` and nothing else; × bare write is a row's req/s over the bare write's in the same run on the same database.

${connections} connections; each request a random one of ${WRITE_CUSTOMERS} customers (each with a concurrency limit seeded) and a random limit from 1 to 1000, with the system key; REST and the bare write are sent the same requests, GraphQL sends \`setConcurrencyLimit\` with variables and selects \`concurrencyLimit { limit }\`. ${rounds} round(s) of ${warmup} s warm-up then ${duration} s measured, as the scenarios above. Statements/write is the server's statement counter over the measured window (read once the window's last requests were answered) divided by the requests sent in it (the service's \`db_statements_total\`; the bare write's count of its pool's queries).${embedded ? ` The embedded database is reachable only inside its service process, so ${postgres ? 'the bare write runs on PostgreSQL only and the embedded rows have no ratio' : 'no bare write runs beside it (set DATABASE_URL to measure one on PostgreSQL)'}.` : ''}

${table}
`;
}

/** BENCH_ONLY=writes: the writes' table alone, on the console and in bench/.data/RESULTS-writes.md. */
function reportWrites(rows: WriteRow[], seeded: Seeded) {
  const section = writesSection(rows);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  const head = `# Writes against a bare write (BENCH_ONLY=writes)\n\nMade by bench/run.ts on ${new Date().toISOString()}; ${machine}; 1-minute load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end; ${seeded.customers.length} customers seeded per database.\n`;
  const file = join(root, 'bench/.data/RESULTS-writes.md');
  writeFileSync(file, `${head}${section}`);
  console.log(`${section}\nwritten to ${file} (bench/RESULTS.md is left as it was)`);
}

/** An OTLP/HTTP receiver that counts what it is sent and keeps nothing. */
async function otlpSink() {
  let spans = 0;
  let requests = 0;
  const server = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests++;
      spans += body.split('"spanId"').length - 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const sinkPort = await freePort();
  await new Promise<void>((resolve) => server.listen(sinkPort, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${sinkPort}`, spans: () => spans, requests: () => requests, close: () => server.close() };
}

/** Runs bench/streams.ts against the service: many open SSE streams, their memory and delivery latency. */
async function measureStreams(port: number, seeded: Seeded, transport: StreamFigures['transport']): Promise<StreamFigures> {
  const file = join(root, 'bench/.data/stream-keys.json');
  writeFileSync(file, JSON.stringify({ keys: seeded.customerKeys.map((k) => k.secret) }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/streams.ts'), String(port), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_STREAM_TRANSPORT: transport },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => child.on('exit', r));
  return JSON.parse(out.trim().split('\n').pop()!) as StreamFigures;
}

function gqlInit(key: string, query: string): RequestInit {
  return { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ query }) };
}

/**
 * What each optimisation did, from runs of this script on PostgreSQL made before and after it
 * (5 s windows; the machine was also running test suites then, so treat them as rough). Kept here
 * so every RESULTS.md carries it.
 */
const HISTORY = `
## Optimisations and their effect

| change | GraphQL self req/s | REST self req/s | SQL/read | RSS MB |
|---|---:|---:|---:|---:|
| first working version: reads through Prisma Client, key cache of 1 s, synchronous log writes, run by tsx | 214 | 805 | 1.92 / 1.35 | 266–367 |
| the key lookup and the customer-with-settings read go straight to the pool (Prisma Client's per-query work measured at 2.5k vs 8.1k reads/s on the same pool, 32 concurrent); key changes pushed by LISTEN/NOTIFY so keys stay cached a minute; asynchronous log writes | 477 | 2,220 | 1.01 / 1.00 | 247–358 |
| \`npm start\` runs an esbuild bundle instead of tsx (idle RSS 209 MB instead of 303 MB) | 1,425 | 2,389 | 1.00 / 1.00 | 225–333 |
| reads from a per-process cache kept exact by LISTEN/NOTIFY; REST answered on node:http before any Fetch API object, GraphQL's body read once; graphql-jit for repeated documents; coded errors without stack traces; GraphiQL loaded on first use (bare server 29,244 req/s in that run) | 3,961 | 9,401 | 0.00 / 0.00 | 223–357 |

The third row is a full run (10 s windows, quiet machine) made right after that change; the
fourth is a full run made at a load average of 2.4 (the bare server made 29,244 req/s in it); a
later run, after the GraphQL door handed Yoga a plain request object, made 3,651 and 9,879 req/s
against a bare server's 24,464 (0.15 and 0.40 of it).

graphql-jit was left out at first (about 7% less CPU per GraphQL request, when a statement per read
dominated); with reads from memory it saves 17% of the one-customer read's CPU and 43% of the
50-alias read's (bench/jit.ts), so it is used for documents a client repeats. Tried and left out:
named prepared statements for the two hot reads (no measurable change, and they
break on the embedded database's shared session).
`;

function report(rows: Row[], writeRows: WriteRow[], seeded: Seeded, streams: { kind: Kind; figures: StreamFigures[] }[]) {
  const base = rows[0]!.rps;
  const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));
  const header =
    '| scenario | database | req/s | × baseline | p50 ms | p99 ms | SQL/req | RSS MB | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.database} | ${fmt(r.rps)} | ${fmt(r.rps / base, 2)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.sqlPerRequest, 2)} | ${fmt(r.rssMb)} | ${r.errors} |`,
  );
  const table = [header, ...lines].join('\n');
  // The embedded service's figures as a share of PostgreSQL's, scenario by scenario (target: ≥ 0.9 for reads).
  const compared = rows
    .filter((r) => r.database === 'embedded')
    .map((e) => ({ e, p: rows.find((r) => r.database === 'PostgreSQL' && r.scenario === e.scenario) }))
    .filter((pair): pair is { e: Row; p: Row } => Boolean(pair.p));
  const comparison = compared.length
    ? [
        '| scenario | PostgreSQL req/s | embedded req/s | embedded ÷ PostgreSQL | p99 ms PostgreSQL / embedded | SQL/req PostgreSQL / embedded |',
        '|---|---:|---:|---:|---:|---:|',
        ...compared.map(
          ({ e, p }) =>
            `| ${e.scenario} | ${fmt(p.rps)} | ${fmt(e.rps)} | **${fmt(e.rps / p.rps, 2)}** | ${fmt(p.p99)} / ${fmt(e.p99)} | ${fmt(p.sqlPerRequest, 2)} / ${fmt(e.sqlPerRequest, 2)} |`,
        ),
      ].join('\n')
    : '';
  const writes = writesSection(writeRows);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const databases = baseUrl
    ? 'PostgreSQL (real server on loopback) and embedded PGlite (in the service process), each with its own service process, both running throughout'
    : 'embedded PGlite (in the service process)';
  const md = `# Benchmark results

Made by \`${baseUrl ? 'DATABASE_URL=… ' : ''}npm run bench\` (bench/run.ts) on ${new Date().toISOString()}; each run overwrites this file.

- Machine: ${machine}; 1-minute load average ${loadAtStart.toFixed(1)} when the run began and ${loadavg()[0]!.toFixed(1)} at its end (other work on the machine lowers every figure). The services, the load generator (autocannon, a separate process) and the
  database share these cores, so every figure is lower than on separate machines.
- Databases: ${databases}; each seeded with ${seeded.customers.length} customers, the concurrency limit set on 80% of
  them (and on the ${WRITE_CUSTOMERS} the writes against the bare write use), ${seeded.customerKeys.length} customer keys and one system key.
- Load: ${connections} connections, keep-alive; each scenario measured in ${rounds} round(s) of ${warmup} s warm-up then ${duration} s measured${baseUrl ? ', on both databases in each round (PostgreSQL first in odd rounds, the embedded database first in even ones) before the next scenario' : ''}; req/s is over all the rounds' time, p50 and p99 the mean of the rounds';
  requests cycle through the customer keys, the per-key rate limit off. SQL/req is the service's statement counter
  (\`db_statements_total\` in /metrics) over the measured window divided by requests;
  RSS is the service process after the scenario (the embedded one's includes its database).
- ${baseUrl ? 'Rows 6a and 6b repeat scenarios 2 and 3a on PostgreSQL with `WORKERS=2` (two worker processes on one port, node:cluster), the first rows being `WORKERS=1`. The embedded database serves one process.' : 'PostgreSQL and the `WORKERS=2` rows need DATABASE_URL.'}
- Rows 7a and 7b repeat scenarios 2 and 3a on ${baseUrl ? 'PostgreSQL' : 'the embedded database'} with OpenTelemetry tracing on (\`OTEL_EXPORTER_OTLP_ENDPOINT\`
  set, every request sampled, spans exported over OTLP http/json to a receiver in the bench process).

${table}
${comparison ? `\n## The embedded database beside PostgreSQL\n\n${comparison}\n` : ''}${writes}
${streams.map((s) => streamsSection(s.kind, s.figures)).join('')}
${HISTORY}`;
  writeFileSync(join(root, 'bench/RESULTS.md'), md);
  console.log(`\n${machine}; databases: ${databases}\n\n${table}\n\n${comparison}\n${writes}${streams.map((s) => streamsSection(s.kind, s.figures)).join('')}\nwritten to bench/RESULTS.md`);
}

await main();

function streamsSection(kind: Kind, all: StreamFigures[]): string {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const name = { sse: 'SSE (`/customers/self/events`)', websocket: 'WebSocket (graphql-ws `customerEvents`)' };
  const rows = all.map(
    (s) =>
      `| ${name[s.transport]} | ${s.streams} | ${f(s.rssBeforeMb)} | ${f(s.rssOpenMb)} | ${f(s.rssOpenMb - s.rssBeforeMb)} | ${f(s.rssAfterWritesMb)} | ${s.deliveries} | ${s.expected} | ${s.failures ?? 0} | ${f(s.p50, 1)} | ${f(s.p99, 1)} | ${f(s.max, 1)} |`,
  );
  return `
## Live event streams (${kind})

${all[0]!.streams} streams held open on one process (spread over the seeded customer keys, from a
separate process), then ${all[0]!.writes} profile changes at a steady rate, each delivered to every
open stream of its customer: first as Server-Sent Events streams on the customers' own
\`/customers/self/events\`, then (those closed) as GraphQL subscriptions over a WebSocket each.
Latency is from the moment the write was sent to the moment a stream received the event (so it
includes the write).

| transport | streams | RSS before MB | RSS with streams MB | growth MB | RSS after writes MB | deliveries | expected | refused | p50 ms | p99 ms | max ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
}
