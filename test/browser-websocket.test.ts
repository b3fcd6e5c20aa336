import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketTransport } from '../src/graphql/websocket.js';
import { launchChromium, skipWithoutChromium } from './browser.js';
import { serveWithWebSocket } from './websocket-server.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * Apollo Client 4 with GraphQLWsLink in headless Chromium (Debian's package), from a page on an
 * origin in CORS_ORIGINS, every request leaving the machine blocked: a change made through REST
 * arrives over the browser's own WebSocket. The same page on another origin is refused.
 */
const skip = skipWithoutChromium('Apollo-in-Chromium test');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** What the page runs: Apollo Client over graphql-ws, as an application would set it up. */
const ENTRY = `
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
window.received = [];
window.start = (url, key) => {
  const ws = createClient({ url, connectionParams: { Authorization: 'Bearer ' + key }, retryAttempts: 0 });
  const client = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
  client.subscribe({ query: gql\`subscription { customerChanged { uuid profile } }\` }).subscribe({
    next: (result) => window.received.push(result.error ? { error: String(result.error.message) } : result.data),
    error: (error) => window.received.push({ error: String(error && error.message) }),
  });
};
`;

let t: TestApp;
let api: Server;
let pages: Server;
let transport: WebSocketTransport;
let browser: Browser;
let apiPort: number;
let pagePort: number;

describe.skipIf(skip)('Apollo Client with GraphQLWsLink in Chromium', () => {
  beforeAll(async () => {
    t = await createTestApp();
    // The page's server first: its origin is the one allowed.
    const bundle = await build({
      stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"' },
    });
    const script = bundle.outputFiles[0]!.text;
    pages = createServer((req, res) => {
      if (req.url === '/app.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><script src="/app.js"></script>');
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pagePort = (pages.address() as AddressInfo).port;
    const options = { CORS_ORIGINS: [`http://127.0.0.1:${pagePort}`], GRAPHQL_INTROSPECTION: true, METRICS: false };
    ({ server: api, transport, port: apiPort } = await serveWithWebSocket(t.services, options));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await transport?.close();
    await new Promise((resolve) => api?.close(resolve));
    await new Promise((resolve) => pages?.close(resolve));
    await t?.close();
  });

  async function openPage(host: string) {
    const context = await browser.newContext();
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOOPBACK.has(url.hostname) || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`http://${host}:${pagePort}/`);
    return { page, context };
  }

  it('delivers a change made through REST to a page on an allowed origin', async () => {
    const c = await t.customer();
    const { page, context } = await openPage('127.0.0.1');
    const before = t.services.events.hub.streams;
    await page.evaluate(([url, key]) => (window as any).start(url, key), [`ws://127.0.0.1:${apiPort}/graphql`, c.key]);
    for (let i = 0; i < 250 && t.services.events.hub.streams === before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(t.services.events.hub.streams).toBe(before + 1);
    await t.http('PATCH', '/customers/self', { key: c.key, body: { profile: { via: 'chromium' } } });
    await page.waitForFunction(() => (window as any).received.length > 0);
    expect(await page.evaluate(() => (window as any).received)).toEqual([
      { customerChanged: { __typename: 'Customer', uuid: c.uuid, profile: { via: 'chromium' } } },
    ]);
    await context.close();
  });

  it('refuses the same page on an origin not in CORS_ORIGINS (localhost is not 127.0.0.1)', async () => {
    const c = await t.customer();
    const { page, context } = await openPage('localhost');
    const before = t.services.events.hub.streams;
    await page.evaluate(([url, key]) => (window as any).start(url, key), [`ws://127.0.0.1:${apiPort}/graphql`, c.key]);
    await page.waitForFunction(() => (window as any).received.length > 0);
    const [outcome] = await page.evaluate(() => (window as any).received);
    expect(outcome.error).toBeDefined();
    expect(t.services.events.hub.streams).toBe(before);
    await context.close();
  });
});
