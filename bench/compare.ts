/**
 * `npm run bench:compare -- <folder>`: this checkout's service against another build of it, in one
 * run, so that a change to the code is measured under the same load as what it replaces. `<folder>`
 * is another checkout of this repository with its dependencies installed (e.g. `git worktree add
 * ../before <commit>` and `npm ci` there, or its node_modules linked), with the same migrations.
 *
 * Both are built as `npm start` builds them and started as one worker each: on PostgreSQL when
 * DATABASE_URL is set (both services on one scratch database, `gateway_compare`, as two replicas),
 * and on the embedded database (each on its own copy of one seeded folder), both started afresh
 * each round. In each round, scenario by scenario, the two are loaded in turn with the same
 * requests, in an order that alternates from round to round:
 * the two reads of the bench's table (GraphQL and REST, each request a random one of 300 customer
 * keys) and its two writes (REST and GraphQL setting a random one of 50 customers' limit).
 * Prints req/s and p99 of each, and this checkout's req/s as a share of the other's; and the CPU
 * each service process spent per request while measured (Linux, /proc): the rate moves with
 * whatever else the machine runs (the load generator shares its two cores), its CPU per request
 * much less.
 *
 *   BENCH_DURATION=8 BENCH_WARMUP=3 BENCH_ROUNDS=3 DATABASE_URL=postgresql://… npm run bench:compare -- ../before
 *
 * BENCH_ONLY=<text> measures only the scenarios whose name contains it (e.g. `GraphQL customer`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { benchSettings, runLoad, stop, waitFor, type LoadResult, type Request } from './harness.js';
import { seededDatabase, type Seeded } from './seed.js';

const root = resolve(import.meta.dirname, '..');
const other = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!other || !existsSync(join(other, 'package.json')) || !existsSync(join(other, 'node_modules'))) {
  console.error('usage: npm run bench:compare -- <another checkout, with node_modules>');
  process.exit(2);
}
/** BENCH_ONLY: only the scenarios whose name contains this text (all when unset). */
const { duration, warmup, rounds, connections, baseUrl, only } = benchSettings({ duration: 8, warmup: 3, rounds: 3 });


const SELF = '{ customer(id:"self") { uuid name active profile settings { concurrencyLimit values } concurrencyLimit { limit } } }';
const SET_LIMIT = 'mutation SetLimit($customer: ID!, $limit: Int!) { setConcurrencyLimit(customer: $customer, limit: $limit) { concurrencyLimit { limit } } }';

function scenarios(seeded: Seeded, writeUuids: string[]): { name: string; requests: Request[] }[] {
  const keys = seeded.customerKeys.map((k) => k.secret);
  const system = { authorization: `Bearer ${seeded.systemKey}` };
  const pairs = Array.from({ length: 1000 }, (_, i) => ({ uuid: writeUuids[i % writeUuids.length]!, limit: 1 + ((i * 7919) % 1000) }));
  return [
    {
      name: 'GraphQL customer(id:"self") with settings',
      requests: keys.map((k) => ({ method: 'POST', path: '/graphql', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: JSON.stringify({ query: SELF }) })),
    },
    { name: 'REST GET /customers/self', requests: keys.map((k) => ({ method: 'GET', path: '/customers/self', headers: { authorization: `Bearer ${k}` } })) },
    {
      name: 'REST PUT /customers/{uuid}/concurrency-limit',
      requests: pairs.map(({ uuid, limit }) => ({ method: 'PUT', path: `/customers/${uuid}/concurrency-limit`, headers: { ...system, 'content-type': 'application/json' }, body: JSON.stringify({ limit }) })),
    },
    {
      name: 'GraphQL setConcurrencyLimit',
      requests: pairs.map(({ uuid, limit }) => ({
        method: 'POST',
        path: '/graphql',
        headers: { ...system, 'content-type': 'application/json' },
        body: JSON.stringify({ query: SET_LIMIT, variables: { customer: uuid, limit } }),
      })),
    },
  ];
}

mkdirSync(join(root, 'bench/.data'), { recursive: true });
const work = mkdtempSync(join(root, 'bench/.data/compare-'));

function load(port: number, requests: Request[], seconds: number): Promise<LoadResult> {
  return runLoad(join(work, 'scenario.json'), { port, connections, seconds, requests, random: true });
}

let nextPort = 39_400;
async function startService(bundle: string, env: Record<string, string>, systemKey: string): Promise<{ port: number; child: ChildProcess }> {
  const port = nextPort++;
  // The per-key rate limit off: the bench measures the request path, not the limiter.
  const full: NodeJS.ProcessEnv = { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', ADMIN_API_KEY: systemKey, WORKERS: '1', LOG_LEVEL: 'warn', RATE_LIMIT_PER_SECOND: '0' };
  if (!env.DATABASE_URL) delete full.DATABASE_URL;
  const child = spawn(process.execPath, [bundle], { env: full, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitFor(`http://127.0.0.1:${port}/ready`, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { port, child };
}

interface Sum {
  requests: number;
  seconds: number;
  p99: number;
  bad: number;
  /** CPU seconds the service process spent while measured (NaN where /proc is not there). */
  cpu: number;
}

const emptySum = (): Sum => ({ requests: 0, seconds: 0, p99: 0, bad: 0, cpu: 0 });

/** User and system CPU seconds of a process so far, from /proc (Linux; clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  try {
    // The fields after the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function main() {
  const builds = { this: join(root, 'dist/main.mjs'), other: join(other!, 'dist/main.mjs') };
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: other!, stdio: 'inherit' });
  const commit = (dir: string) => {
    try {
      return execFileSync('git', ['log', '-1', '--format=%h %s'], { cwd: dir, encoding: 'utf8' }).trim().slice(0, 90);
    } catch {
      return '(not a git checkout)';
    }
  };
  const lines: string[] = [];
  const say = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  say(`# This checkout against another build, in one run`);
  say('');
  say(`this: ${commit(root)}  \nother: ${commit(other!)}  \n${new Date().toISOString()}; 1-minute load ${loadavg()[0]!.toFixed(1)}; ${connections} connections; ${rounds} rounds of ${warmup} s warm-up and ${duration} s measured per build, alternating.`);
  say('');
  say('| database | scenario | this req/s | other req/s | this / other | p99 this / other (ms) | non-2xx this / other | CPU µs/req this / other | CPU this / other |');
  say('|---|---|---:|---:|---:|---:|---:|---:|---:|');

  const kinds = baseUrl ? (['PostgreSQL', 'embedded'] as const) : (['embedded'] as const);
  for (const kind of kinds) {
    process.stdout.write(`seeding ${kind}…\n`);
    let envs: Record<'this' | 'other', Record<string, string>>;
    let seeded: Seeded;
    let writeUuids: string[];
    if (kind === 'PostgreSQL') {
      const { url, ...prepared } = await seededDatabase({ baseUrl: baseUrl!, name: 'gateway_compare' });
      ({ seeded, writeUuids } = prepared);
      envs = { this: { DATABASE_URL: url! }, other: { DATABASE_URL: url! } };
    } else {
      const dir = join(work, 'seed');
      ({ seeded, writeUuids } = await seededDatabase({ dataDir: dir }));
      for (const name of ['this', 'other']) cpSync(dir, join(work, name), { recursive: true });
      envs = { this: { DATA_DIR: join(work, 'this'), DATABASE_URL: '' }, other: { DATA_DIR: join(work, 'other'), DATABASE_URL: '' } };
    }
    const chosen = scenarios(seeded, writeUuids).filter((s) => s.name.includes(only));
    const sums = chosen.map(() => ({ this: emptySum(), other: emptySum() }));
    for (let round = 0; round < rounds; round++) {
      // Both services are started afresh each round: a process keeps for as long as it runs
      // whatever its start left it with (the code V8 optimised, the heap's sizing), which moved
      // one process's rate by up to a fifth against another's of the same build. The rounds
      // average over as many processes of each build.
      const order = round % 2 ? (['other', 'this'] as const) : (['this', 'other'] as const);
      const services = {} as Record<'this' | 'other', { port: number; child: ChildProcess }>;
      try {
        for (const name of order) services[name] = await startService(builds[name], envs[name], seeded.systemKey);
        for (const [i, scenario] of chosen.entries()) {
          for (const name of order) {
            process.stdout.write(`${kind}: ${scenario.name} (${name}, round ${round + 1})…\n`);
            await load(services[name].port, scenario.requests, warmup);
            const cpuBefore = cpuSeconds(services[name].child.pid);
            const r = await load(services[name].port, scenario.requests, duration);
            const sum = sums[i]![name];
            sum.cpu += cpuSeconds(services[name].child.pid) - cpuBefore;
            sum.requests += r.requests;
            sum.seconds += r.requests / r.rps;
            sum.p99 += r.p99 / rounds;
            sum.bad += r.non2xx + r.errors + r.timeouts;
          }
        }
      } finally {
        for (const { child } of Object.values(services)) await stop(child);
      }
    }
    const rps = (s: Sum) => s.requests / s.seconds;
    const cpuPerRequest = (s: Sum) => (s.cpu / s.requests) * 1e6;
    for (const [i, scenario] of chosen.entries()) {
      const { this: mine, other: theirs } = sums[i]!;
      const cpu = Number.isNaN(mine.cpu) || Number.isNaN(theirs.cpu)
        ? '– | –'
        : `${cpuPerRequest(mine).toFixed(0)} / ${cpuPerRequest(theirs).toFixed(0)} | ${(cpuPerRequest(mine) / cpuPerRequest(theirs)).toFixed(2)}`;
      say(
        `| ${kind} | ${scenario.name} | ${Math.round(rps(mine)).toLocaleString('en')} | ${Math.round(rps(theirs)).toLocaleString('en')} | ${(rps(mine) / rps(theirs)).toFixed(2)} | ${mine.p99.toFixed(1)} / ${theirs.p99.toFixed(1)} | ${mine.bad} / ${theirs.bad} | ${cpu} |`,
      );
    }
  }
  writeFileSync(join(root, 'bench/.data/COMPARE.md'), `${lines.join('\n')}\n`);
  console.log('\nwritten to bench/.data/COMPARE.md');
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
