import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { loadConfig } from '../src/boot/config.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, httpClient, type TestApp } from './helpers.js';

/** TRUSTED_DOCUMENTS: a persisted-documents.json as graphql-codegen's client preset writes it. */
let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
const ME = 'query Me { me { name } }';
const hash = (document: string) => createHash('sha256').update(document).digest('hex');
const file = join(dir, 'persisted-documents.json');
writeFileSync(file, JSON.stringify({ [hash(ME)]: ME }));

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function trustedApp() {
  return httpClient(createApp(t.services, createLogger('silent'), loadConfig({ TRUSTED_DOCUMENTS: file })));
}

async function call(http: TestApp['http'], key: string, body: unknown) {
  const res = await http('POST', '/graphql', { key, body, headers: { accept: 'application/graphql-response+json' } });
  return { status: res.status, body: (await res.json()) as any };
}

describe('with TRUSTED_DOCUMENTS', () => {
  it('runs a listed document named by documentId or by extensions.persistedQuery.sha256Hash', async () => {
    const c = await t.customer();
    const http = trustedApp();
    for (const body of [
      { documentId: hash(ME) },
      { documentId: `sha256:${hash(ME)}` },
      { extensions: { persistedQuery: { version: 1, sha256Hash: hash(ME) } } },
    ]) {
      const res = await call(http, c.key, body);
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.body).toEqual({ data: { me: { name: c.name } } });
    }
  });

  it('refuses the text of a document, even a listed one, and an unknown id, with 400 BAD_REQUEST in the contract shape', async () => {
    const c = await t.customer();
    const http = trustedApp();
    const text = await call(http, c.key, { query: ME });
    expect(text.status).toBe(400);
    expect(text.body.data).toBeUndefined();
    expect(text.body.errors).toEqual([
      { message: expect.stringMatching(/Only trusted documents run/), extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
    ]);
    const unknown = await call(http, c.key, { documentId: hash('{ customers { edges { node { name } } } }') });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([
      { message: expect.stringMatching(/No trusted document has this id/), extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
    ]);
  });

  it('stops the start with a message naming the variable when the file is not a map of documents', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([ME]));
    expect(() => createApp(t.services, createLogger('silent'), loadConfig({ TRUSTED_DOCUMENTS: bad }))).toThrow(/TRUSTED_DOCUMENTS/);
    expect(() => createApp(t.services, createLogger('silent'), loadConfig({ TRUSTED_DOCUMENTS: join(dir, 'missing.json') }))).toThrow(/TRUSTED_DOCUMENTS/);
  });
});

describe('without TRUSTED_DOCUMENTS', () => {
  it('runs any valid document', async () => {
    const c = await t.customer();
    const res = await call(t.http, c.key, { query: '{ me { uuid } }' });
    expect(res.status).toBe(200);
    expect(res.body.data.me.uuid).toBe(c.uuid);
  });
});
