import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * The served OpenAPI document as an integrator uses it: linted by Redocly, and turned into a typed
 * client with openapi-typescript + openapi-fetch, which must compile when right and fail to compile
 * when a member or a path is misspelt.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

let t: TestApp;
let dir: string;
beforeAll(async () => {
  t = await createTestApp();
  dir = mkdtempSync(join(tmpdir(), 'openapi-contract-'));
  const res = await t.http('GET', '/openapi.json');
  expect(res.status).toBe(200);
  writeFileSync(join(dir, 'openapi.json'), await res.text());
  // The client folder resolves openapi-fetch and TypeScript's libraries from the project.
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
});
afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A command's exit code and output, failing or not. */
async function exec(file: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: dir, env: { ...process.env, ...env }, maxBuffer: 32 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the served OpenAPI document', () => {
  it('lints clean with Redocly (recommended rules, redocly.yaml): no errors, no warnings', async () => {
    const { code, stdout, stderr } = await exec(
      bin('redocly'),
      ['lint', join(dir, 'openapi.json'), '--config', join(root, 'redocly.yaml'), '--format=json'],
      { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    );
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number; ignored: number };
      problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
    };
    const problems = report.problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(problems, stderr).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(code).toBe(0);
  }, 60_000);

  it('gives openapi-typescript + openapi-fetch a client that compiles, runs, and refuses misspellings', async () => {
    const generated = await exec(bin('openapi-typescript'), [join(dir, 'openapi.json'), '-o', join(dir, 'api.d.ts')]);
    expect(generated.code, generated.stderr).toBe(0);

    writeFileSync(
      join(dir, 'good.ts'),
      `import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

/** What an integrator writes: every call below must type-check. */
export async function useTheApi(fetch: (request: Request) => Promise<Response>, key: string) {
  const api = createClient<paths>({ baseUrl: 'http://test', fetch, headers: { Authorization: \`Bearer \${key}\` } });
  const self = { params: { path: { customer: 'self' } } };
  const body: components['schemas']['ConcurrencyLimitRequest'] = { limit: 5 };
  const put = await api.PUT('/customers/{customer}/concurrency-limit', { ...self, body });
  const limit: number | undefined = put.data?.limit;
  const legacy = await api.PUT('/tenants/{customer}/concurrency-limit', { ...self, body: { value: '7' } });
  const customer = await api.GET('/customers/{customer}', self);
  const name: string | undefined = customer.data?.name;
  const key2 = await api.POST('/customers/{customer}/apikeys', { ...self, body: { name: 'ci' } });
  const renamed = await api.PATCH('/customers/{customer}/apikeys/{key}', {
    params: { path: { customer: 'self', key: key2.data?.keyId ?? '' } },
    body: { name: 'ci-2', active: true },
  });
  const refused = await api.PUT('/customers/{customer}/concurrency-limit', { ...self, body: { limit: '5x' } });
  const code: string | undefined = refused.error?.code;
  return {
    limit,
    legacy: legacy.data?.limit,
    name,
    secret: key2.data?.secret,
    location: key2.response.headers.get('location'),
    renamed: renamed.data?.name,
    code,
  };
}
`,
    );
    // One misspelling a line; each line must be a compile error, and nothing else may be.
    const mistakes = [
      `api.PUT('/customers/{customer}/concurrency-limit', { params: { path: { customer: 'self' } }, body: { limt: 5 } });`,
      `api.PUT('/customers/{customer}/concurrency-limit', { params: { path: { customer: 'self' } }, body: {} });`,
      `api.GET('/customer/{customer}', { params: { path: { customer: 'self' } } });`,
      // openapi-fetch itself lets extra members through once the required ones are there
      // (openapi-ts/openapi-typescript#2329): a body typed with the generated schema catches them.
      `api.POST('/customers', { body: { name: 'acme', profle: {} } satisfies Body<'CreateCustomerRequest'> });`,
      `api.PATCH('/customers/{customer}/apikeys/{key}', { params: { path: { customer: 'self', key: 'k' } }, body: { activ: false } satisfies Body<'UpdateApiKeyRequest'> });`,
      `const limit: Body<'ConcurrencyLimitRequest'> = { limit: 5, valeu: 5 };`,
      `api.GET('/customers/{customer}', { params: { path: { custmer: 'self' } } });`,
    ];
    const header = [
      `import createClient from 'openapi-fetch';`,
      `import type { components, paths } from './api.js';`,
      `type Body<N extends keyof components['schemas']> = components['schemas'][N];`,
      `const api = createClient<paths>({ baseUrl: 'http://test' });`,
      '',
    ].join('\n');
    const firstLine = header.split('\n').length;
    writeFileSync(join(dir, 'bad.ts'), `${header}${mistakes.join('\n')}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2024', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['good.ts', 'bad.ts'],
      }),
    );

    const tsc = await exec(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false']);
    const errors = [...tsc.stdout.matchAll(/^(\w+)\.ts\((\d+),\d+\): error (TS\d+): (.*)$/gm)].map(([, file, line, ts, message]) => ({
      file,
      line: Number(line),
      ts,
      message,
    }));
    expect(errors.filter((e) => e.file !== 'bad'), tsc.stdout).toEqual([]);
    const erroneousLines = [...new Set(errors.map((e) => e.line - firstLine))].sort((a, b) => a - b);
    expect(erroneousLines, tsc.stdout).toEqual(mistakes.map((_, i) => i));
    expect(tsc.code).not.toBe(0);
    expect(tsc.stdout).toMatch(/'limt' does not exist/);
    expect(tsc.stdout).toMatch(/'profle' does not exist/);
    expect(tsc.stdout).toMatch(/'activ' does not exist/);
    expect(tsc.stdout).toMatch(/'valeu' does not exist/);

    // And the client that compiled talks to the service as typed.
    const c = await t.customer();
    const { useTheApi } = (await import(pathToFileURL(join(dir, 'good.ts')).href)) as {
      useTheApi(fetch: (request: Request) => Promise<Response>, key: string): Promise<Record<string, unknown>>;
    };
    const result = await useTheApi(async (request) => t.app.fetch(request), c.key);
    expect(result).toMatchObject({ limit: 5, legacy: 7, name: c.name, renamed: 'ci-2', code: 'BAD_REQUEST' });
    expect(result.secret).toMatch(/^XI/);
    expect(result.location).toMatch(new RegExp(`^/customers/${c.id}/apikeys/key_`));
  }, 120_000);
});
