import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { inject } from 'vitest';
import { newDatabase } from './databases.js';

/**
 * Real service processes for the multi-process tests: the bundle `npm start` runs (built once per
 * run by test/global-setup.ts), a fresh PostgreSQL database for them to share, and a Redis of the
 * test's own.
 */
export const serviceBundle = (): string => inject('serviceBundle');

/**
 * Node's arguments before the service's bundle in these tests. `--liftoff-only` keeps V8 from
 * optimising WebAssembly (the embedded PostgreSQL, Prisma's query compiler) in the background: work
 * a process that lives a few seconds never earns back. A start on the embedded database then costs
 * about 1.8 s of CPU instead of 3.4 s (measured on a 2-core machine), and the process tests run
 * side by side with the others. The code and what it does are the same; test/start.test.ts starts
 * the build exactly as `npm start` does. (The CLI sets the flag itself: src/cli.ts.)
 */
const SERVICE_NODE_ARGS = ['--liftoff-only'];

/** The operator CLI, bundled like the service (test/global-setup.ts). */
export const cliBundle = (): string => inject('cliBundle');

/**
 * A new embedded data folder holding the migrated database test/global-setup.ts dumped: a service
 * started on it skips initdb and the migrations. For tests about something else than a first start
 * (test/start.test.ts starts from an empty folder).
 */
export function migratedDataDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('tar', ['-xf', inject('embeddedImage'), '-C', dir], { stdio: 'ignore' });
  return dir;
}

/**
 * The service's bundle as a process, `node --liftoff-only <bundle>` with `env` as its whole
 * environment: its stdout and stderr collected, and its exit code when it exits.
 */
export function spawnService(bundle: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...SERVICE_NODE_ARGS, bundle], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export interface Service {
  child: ChildProcess;
  port: number;
  output(): string;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
  /** SIGTERM, resolving with the exit code. */
  stop(): Promise<number | null>;
  fetch(path: string, init?: { method?: string; key?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response>;
}

/** Starts the bundle with `env` over the test's environment; resolves once it logs "listening". */
export function startService(bundle: string, env: Record<string, string | undefined>): Promise<Service> {
  const full: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  for (const [name, value] of Object.entries(full)) if (value === undefined) delete full[name];
  const { child, output, exited } = spawnService(bundle, full);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line in 45 s:\n${output()}`)), 45_000);
    const onExit = (code: number | null) => reject(new Error(`exited with ${code}:\n${output()}`));
    child.on('exit', onExit);
    child.stdout!.on('data', () => {
      const match = /"port":(\d+)[^\n]*listening/.exec(output());
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      const port = Number(match[1]);
      resolve({
        child,
        port,
        output,
        exited,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.on('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
        fetch: (path, init = {}) => {
          const headers: Record<string, string> = { ...init.headers };
          if (init.key) headers.authorization = `Bearer ${init.key}`;
          if (init.body !== undefined) headers['content-type'] = 'application/json';
          return fetch(`http://127.0.0.1:${port}${path}`, {
            method: init.method ?? 'GET',
            headers,
            body: init.body === undefined ? undefined : JSON.stringify(init.body),
            signal: init.signal,
          });
        },
      });
    });
  });
}

/** A GET on a connection of its own (no keep-alive), so a cluster may hand it to any worker. */
export function getOnNewConnection(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The system key a first start printed. */
export function printedKey(output: string): string | undefined {
  return /^\s+(XI[A-Za-z0-9]{32})$/m.exec(output)?.[1];
}

/** A new, empty database on TEST_DATABASE_URL's server: its URL, and how to drop it. */
export const emptyDatabase = (base: string) => newDatabase(base, { prefix: 'gw_replicas' });

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis answers PING at 127.0.0.1:port within a second. */
export function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(String(data).startsWith('+PONG')));
  });
}

export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway redis-server on `port` (no persistence); resolves once it answers. */
export async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers(port)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port}`);
}

export function killAndWait(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill(signal);
  });
}

/** Polls `check` every 25 ms until it is true or `ms` have passed; returns its last answer. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}
