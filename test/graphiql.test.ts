import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipWithoutChromium } from './browser.js';
import { createTestApp, type TestApp } from './helpers.js';

/**
 * GraphiQL as a developer meets it, in headless Chromium (Debian's package) with every request
 * that leaves the machine blocked: the page must render, learn the schema before a key is given,
 * and run a query once the key is in the Headers pane, loading nothing from another host.
 */
const skip = skipWithoutChromium('GraphiQL browser test');

/** The editor shows spaces as no-break spaces. */
const text = (shown: string) => shown.replace(/\u00a0/g, ' ');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

let t: TestApp;
let server: Server;
let base: string;
let browser: Browser;

describe.skipIf(skip)('GraphiQL in a browser', () => {
  beforeAll(async () => {
    t = await createTestApp();
    server = createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Playwright gives the browser a fresh profile directory of its own.
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await t?.close();
  });

  it('renders offline, learns the schema before a key is given, and runs a query with the key from the Headers pane', async () => {
    const c = await t.customer();
    const context = await browser.newContext();
    const outside: string[] = [];
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if ((url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK.has(url.hostname)) return route.continue();
      if (url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      outside.push(url.href);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    const introspection = page.waitForResponse((r) => r.url() === `${base}/graphql` && /__schema/.test(r.request().postData() ?? ''));
    introspection.catch(() => {}); // awaited below; a page that never asks fails there, not as an unhandled rejection
    const landing = await page.goto(`${base}/graphql`);
    expect(landing!.status()).toBe(200);
    expect(landing!.headers()['content-type']).toMatch(/^text\/html/);
    // Compressed (the page carries GraphiQL's whole code, several MB).
    expect(landing!.headers()['content-encoding']).toMatch(/^(br|gzip)$/);
    await page.locator('.graphiql-container').first().waitFor();

    // The schema arrives without a key (the Headers template is not one), so Docs work at once.
    expect((await introspection).status()).toBe(200);
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();
    expect(await page.locator('body').innerText()).not.toContain('Error fetching schema');

    // The default document explains the key; the Headers pane holds the template to fill in.
    expect(text(await page.locator('.graphiql-query-editor').innerText())).toContain('{"Authorization": "Bearer XI..."}');
    const headers = page.locator('section.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    expect(text(await headers.innerText())).toContain('"Authorization": "Bearer XI..."');
    await headers.locator('.view-lines').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText, not typing: the editor would close brackets and quotes typed one by one.
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${c.key}` }));

    const answer = page.waitForResponse((r) => r.url() === `${base}/graphql` && /query Me/.test(r.request().postData() ?? ''));
    await page.locator('.graphiql-execute-button').click();
    const response = await answer;
    expect(response.status()).toBe(200);
    expect(await response.json()).toMatchObject({ data: { me: { name: c.name, uuid: c.uuid } } });
    // And the answer is shown.
    await page.locator('section.result-window', { hasText: c.name }).waitFor();

    expect(outside).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
