import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBundle, migratedDataDir, serviceBundle, killAndWait, spawnService, startService, type Service } from './processes.js';

/**
 * The embedded database's folder serves one process at a time (a pid file, src/db/embedded.ts):
 * the read cache is exact there only because nothing else can write it. A second service or the
 * operator CLI is refused, saying why, while the first runs; a pid file left by a process that is
 * gone does not block the next start.
 */
const run = promisify(execFile);
const dataDir = migratedDataDir('gateway-guard-');
const pidFile = join(dataDir, 'gateway.pid');
const env = { DATA_DIR: dataDir, DATABASE_URL: undefined, ADMIN_API_KEY: undefined, WORKERS: undefined };
const IN_USE = /The embedded database in \S+ is in use by process (\d+), and it serves one process at a time\. Stop that process first, or set DATABASE_URL/;
let bundle: string;

beforeAll(() => {
  bundle = serviceBundle();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs the bundle expecting it to stop at start; resolves with its exit code and output. */
function startRefused(): Promise<{ code: number | null; output: string }> {
  const full: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: dataDir };
  delete full.DATABASE_URL;
  const { child, output, exited } = spawnService(bundle, full);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return exited.then((code) => {
    clearTimeout(timer);
    return { code, output: output() };
  });
}

async function cli(...args: string[]) {
  const full: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', DATA_DIR: dataDir };
  delete full.DATABASE_URL;
  try {
    const { stdout } = await run(process.execPath, [cliBundle(), ...args], { env: full });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('the embedded database folder, guarded by its pid file', () => {
  let first: Service | undefined;
  afterAll(async () => {
    if (first) await killAndWait(first.child);
  });

  it('refuses a second service and the CLI while the first runs, naming the process', async () => {
    first = await startService(bundle, env);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(first.child.pid);

    const second = await startRefused();
    expect(second.code).toBe(1);
    expect(second.output).toMatch(IN_USE);
    expect(IN_USE.exec(second.output)![1]).toBe(String(first.child.pid));
    expect(second.output).not.toMatch(/\n\s+at /); // a message, not a stack trace

    const listed = await cli('customer:list');
    expect(listed.code).toBe(1);
    expect(listed.output).toMatch(IN_USE);
    expect(listed.output).not.toMatch(/\n\s+at /);

    // The first is untouched by both attempts.
    expect((await first.fetch('/ready')).status).toBe(200);
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(first.child.pid);
    // Three process starts (two of them refused) and the CLI: a minute on a busy machine.
  }, 180_000);

  it('a pid file whose process is gone does not block a start; a clean stop removes it', async () => {
    // Killed without a chance to remove its pid file: the file names a process that no longer exists.
    await killAndWait(first!.child, 'SIGKILL');
    const stalePid = first!.child.pid;
    first = undefined;
    expect(Number(readFileSync(pidFile, 'utf8'))).toBe(stalePid);

    const next = await startService(bundle, env);
    try {
      expect(Number(readFileSync(pidFile, 'utf8'))).toBe(next.child.pid);
      expect((await next.fetch('/ready')).status).toBe(200);
    } finally {
      expect(await next.stop()).toBe(0);
    }
    expect(existsSync(pidFile)).toBe(false);

    // With the service stopped, the CLI opens the folder.
    const listed = await cli('customer:list');
    expect(listed.code).toBe(0);
  }, 180_000);
});
