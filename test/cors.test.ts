import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/boot/app.js';
import { loadConfig } from '../src/boot/config.js';
import { createLogger } from '../src/boot/logger.js';
import { createTestApp, type TestApp } from './helpers.js';

/** Browser frontends: only the configured origins, with the headers a client needs to read. */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('CORS', () => {
  it('allows no origin by default, and the configured origins when set', async () => {
    const preflight = (app: { fetch: typeof fetch }, origin: string) =>
      app.fetch('http://test/graphql', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const closed = await preflight(t.app as never, 'https://app.example.com');
    expect(closed.headers.get('access-control-allow-origin')).toBeNull();

    const config = loadConfig({ CORS_ORIGINS: 'https://app.example.com' });
    const open = createApp(t.services, createLogger('silent'), config);
    const allowed = await preflight(open as never, 'https://app.example.com');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const other = await preflight(open as never, 'https://evil.example.net');
    expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example.net');

    const read = await open.fetch('http://test/customers/self', {
      headers: { origin: 'https://app.example.com', authorization: `Bearer ${(await t.customer()).key}` },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
  });
});
