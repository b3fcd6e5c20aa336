import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { createLogger } from '../src/boot/logger.js';
import { launchChromium, skipWithoutChromium } from './browser.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * Live event streams as a browser on an allowed origin meets them, in headless Chromium (Debian's
 * package): a plain EventSource opened with a stream ticket, and @microsoft/fetch-event-source
 * with the key, resuming across a dropped connection with Last-Event-ID and parsing every message
 * as JSON the usual way. (Chromium lets Last-Event-ID through without asking; that a preflight
 * naming it is allowed, as other browsers need, is http-conventions.test.ts's.) The page is served from another origin
 * than the API, and every request that leaves the machine is blocked.
 */
const skip = skipWithoutChromium('browser stream tests');

const FES = new URL('../node_modules/@microsoft/fetch-event-source/lib/esm/', import.meta.url);

let t: TestApp;
let api: Server;
let pages: Server;
let apiBase: string;
let pageBase: string;
let browser: Browser;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.skipIf(skip)('event streams in a browser', () => {
  beforeAll(async () => {
    t = await createTestApp();
    // The frontend's origin: a page and the library's ES modules, nothing else.
    pages = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname;
      if (path.startsWith('/fes/')) {
        const file = new URL(path.slice(5).replace(/^([^.]+)$/, '$1.js'), FES);
        if (!file.href.startsWith(FES.href) || !existsSync(file)) return res.writeHead(404).end();
        return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>frontend</title>');
    });
    pageBase = await listen(pages);
    // The API, allowing that origin (as an operator would with CORS_ORIGINS).
    const quiet = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
    api = createServer(createApp(t.services, quiet, { CORS_ORIGINS: [pageBase], GRAPHQL_INTROSPECTION: true, METRICS: false }));
    apiBase = await listen(api);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([api, pages].map((s) => new Promise((resolve) => s?.close(resolve))));
    await t?.close();
  });

  async function frontend(): Promise<Page> {
    const context = await browser.newContext();
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      return url.hostname === '127.0.0.1' ? route.continue() : route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${pageBase}/`);
    return page;
  }

  /** Waits until the page's `received` list has `count` entries; answers it. */
  async function received(page: Page, count: number): Promise<{ id: string; type: string; to: number }[]> {
    await page.waitForFunction((n) => (window as any).received.length >= n, count, { timeout: 15_000 });
    return page.evaluate(() => (window as any).received);
  }

  it('a plain EventSource, opened with a stream ticket, gets a change made through REST', async () => {
    const c = await t.customer();
    const page = await frontend();
    await page.evaluate(
      async ({ apiBase, key }) => {
        const w = window as any;
        w.received = [];
        // The key stays in the page's memory; the URL carries a one-use ticket.
        const res = await fetch(`${apiBase}/customers/self/events/tickets`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
        const { url } = await res.json();
        const source = new EventSource(apiBase + url);
        source.addEventListener('setting.set', (e) => {
          const data = JSON.parse((e as MessageEvent).data);
          w.received.push({ id: (e as MessageEvent).lastEventId, type: data.type, to: data.changes['concurrency-limit'].to });
        });
        await new Promise((resolve, reject) => {
          source.onopen = resolve;
          source.onerror = reject;
        });
      },
      { apiBase, key: c.key },
    );
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 11 } });
    expect(await received(page, 1)).toEqual([expect.objectContaining({ type: 'setting.set', to: 11 })]);
    await page.context().close();
  });

  it('fetch-event-source with the key resumes across a dropped connection with exactly what was missed', async () => {
    const c = await t.customer();
    const page = await frontend();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // The library as a frontend bundles it: its ES modules, from the page's own origin.
    await page.addScriptTag({ type: 'module', content: "import { fetchEventSource } from '/fes/index.js'; window.fetchEventSource = fetchEventSource;" });
    await page.waitForFunction(() => typeof (window as any).fetchEventSource === 'function');
    await page.evaluate(
      async ({ apiBase, key }) => {
        const w = window as any;
        w.received = [];
        w.opens = 0;
        const { fetchEventSource } = w;
        let opened!: () => void;
        const first = new Promise<void>((resolve) => (opened = resolve));
        void fetchEventSource(`${apiBase}/customers/self/events`, {
          headers: { authorization: `Bearer ${key}` },
          openWhenHidden: true,
          async onopen(response: Response) {
            if (!response.ok) throw new Error(`stream refused: ${response.status}`);
            w.opens++;
            opened();
          },
          // The usual handler: every message is an event's JSON.
          onmessage(message: { id: string; event: string; data: string }) {
            const data = JSON.parse(message.data);
            w.received.push({ id: message.id, type: data.type, to: data.changes?.['concurrency-limit']?.to });
          },
          // A stream that ends is resumed, as one that fails is (the library retries after `retry:`).
          onclose() {
            throw new Error('stream closed');
          },
        });
        await first;
      },
      { apiBase, key: c.key },
    );
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 1 } });
    await received(page, 1);

    // The connection drops (every socket of the API is cut); two changes happen meanwhile.
    api.closeAllConnections();
    for (const limit of [2, 3]) await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit } });
    const all = await received(page, 3);
    expect(all.map((e) => e.to)).toEqual([1, 2, 3]);
    expect(new Set(all.map((e) => e.id)).size).toBe(3);
    expect(await page.evaluate(() => (window as any).opens)).toBeGreaterThanOrEqual(2);
    // No message failed to parse (no empty messages from the opening retry: or the heartbeats).
    expect(errors).toEqual([]);
    await page.waitForTimeout(300);
    expect((await page.evaluate(() => (window as any).received)).length).toBe(3);
    await page.context().close();
  });
});
