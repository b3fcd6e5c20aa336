import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sseReader } from './sse.js';

/**
 * What `npm start` runs (the bundle `npm run build` makes of src/main.ts), on the embedded
 * database, as a user meets it: the first start prints a system key, the README's first calls work with it, SIGTERM stops it with exit 0, and the data
 * is there after a restart.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'gateway-start-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
beforeAll(() => {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
});

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

function start(): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  delete env.ADMIN_API_KEY;
  const child = spawn(process.execPath, ['dist/main.mjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line in 45 s:\n${output}`)), 45_000);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    child.stdout!.on('data', () => {
      const match = /"port":(\d+)[^\n]*listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output });
      }
    });
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

async function graphql(port: number, key: string, query: string) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('npm start on the embedded database', () => {
  it('serves the README walk-through, stops on SIGTERM, and keeps its data across a restart', async () => {
    const first = await start();
    const systemKey = /^\s+(XI[A-Za-z0-9]{32})$/m.exec(first.output())?.[1];
    expect(systemKey, first.output()).toBeDefined();

    const created = await graphql(
      first.port,
      systemKey!,
      'mutation { createCustomer(input: {name: "Acme Corp"}) { uuid } createApiKey(customer: "Acme Corp", name: "first") { secret } }',
    );
    expect(created.body.errors).toBeUndefined();
    const customerKey: string = created.body.data.createApiKey.secret;

    await graphql(first.port, customerKey, 'mutation { setConcurrencyLimit(limit: 5) { id } }');
    const self = await graphql(first.port, customerKey, '{ customer(id:"self") { name settings { concurrencyLimit } } }');
    expect(self).toEqual({ status: 200, body: { data: { customer: { name: 'Acme Corp', settings: { concurrencyLimit: 5 } } } } });

    const health = await fetch(`http://127.0.0.1:${first.port}/health`);
    expect(health.status).toBe(200);
    // The request log never carries a secret.
    expect(first.output()).not.toContain(customerKey);

    // SIGTERM with event streams open: each ends cleanly with its reason, and the write acknowledged
    // just before is kept (read after the restart below).
    const streams = await Promise.all(
      [0, 1].map(async () => {
        const res = await fetch(`http://127.0.0.1:${first.port}/customers/self/events`, {
          headers: { authorization: `Bearer ${customerKey}`, accept: 'text/event-stream' },
        });
        expect(res.status).toBe(200);
        return sseReader(res.body!);
      }),
    );
    for (const stream of streams) {
      expect((await stream.next(3)).map((e) => e.event)).toEqual(['customer.created', 'apikey.created', 'setting.set']);
    }
    const last = await graphql(first.port, customerKey, 'mutation { setConcurrencyLimit(limit: 6) { id } }');
    expect(last.body.errors).toBeUndefined();
    for (const stream of streams) expect((await stream.next(1)).map((e) => e.event)).toEqual(['setting.set']);
    const exit = stop(first.child);
    for (const stream of streams) {
      const [end] = await stream.next(1, 5000);
      expect(end).toMatchObject({ event: 'end', data: expect.stringContaining('shutting down') });
      await stream.next(1, 5000);
      expect(stream.ended).toBe(true);
    }
    expect(await exit).toBe(0);

    const second = await start();
    // A system key exists now, so none is printed again.
    expect(second.output()).not.toMatch(/^\s+XI[A-Za-z0-9]{32}$/m);
    const again = await graphql(second.port, customerKey, '{ customer(id:"self") { name settings { concurrencyLimit } } }');
    expect(again.body.data.customer).toEqual({ name: 'Acme Corp', settings: { concurrencyLimit: 6 } });
    expect(await stop(second.child)).toBe(0);
  }, 120_000);
});
