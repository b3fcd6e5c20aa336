/**
 * What the bench scripts share (bench/run.ts, bench/compare.ts): their settings from the
 * environment, the load generator run as a process of its own (bench/load.ts), and a service
 * process waited for and stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** One request a scenario sends. */
export interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What bench/load.ts measured over one window. */
export interface LoadResult {
  requests: number;
  sent: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  timeouts: number;
}

/**
 * BENCH_DURATION, BENCH_WARMUP and BENCH_ROUNDS (each script has its own defaults),
 * BENCH_CONNECTIONS (32), DATABASE_URL and BENCH_ONLY.
 */
export function benchSettings(defaults: { duration: number; warmup: number; rounds: number }) {
  return {
    duration: Number(process.env.BENCH_DURATION ?? defaults.duration),
    warmup: Number(process.env.BENCH_WARMUP ?? defaults.warmup),
    /** Measured windows per scenario, the order of what is compared flipped each round. */
    rounds: Number(process.env.BENCH_ROUNDS ?? defaults.rounds),
    connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
    baseUrl: process.env.DATABASE_URL,
    only: process.env.BENCH_ONLY ?? '',
  };
}

/**
 * Drives `requests` at a port for `seconds` from bench/load.ts (autocannon in a process of its own,
 * so that it does not share the service's event loop). `file` is where the scenario is written
 * for it; `random` picks each request at random instead of in turn.
 */
export async function runLoad(
  file: string,
  options: { port: number; connections: number; seconds: number; requests: Request[]; random: boolean },
): Promise<LoadResult> {
  const { port, connections, seconds, requests, random } = options;
  writeFileSync(file, JSON.stringify({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, requests, random }));
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/load.ts'), file], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
}

/** Resolves once `url` answers 2xx; rejects when the process exits first or after `seconds`. */
export async function waitFor(url: string, child: ChildProcess, seconds = 60): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (exited(child)) throw new Error(`${url}: process exited with ${child.exitCode ?? child.signalCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer in ${seconds}s`);
}

/** SIGTERM, resolving once the process has exited (at once when it already has, by a code or a signal). */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (exited(child)) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
