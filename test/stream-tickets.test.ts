import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/kernel/secrets.js';
import { createTestApp, type TestApp } from './helpers.js';
import { sseReader } from './sse.js';

/**
 * Stream tickets (domain/events/tickets.ts): how a browser's EventSource, which cannot send
 * `Authorization`, opens a live event stream without the key in its URL. A ticket is short-lived,
 * single-use, opens the one stream it was issued for in the name of the key that asked, and is
 * never stored or logged in clear.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

interface Ticket {
  ticket: string;
  expiresAt: string;
  url: string;
}

async function ticketFor(key: string, path = '/customers/self/events/tickets'): Promise<{ status: number; body: Ticket; headers: Headers }> {
  const res = await t.http('POST', path, { key });
  return { status: res.status, body: (await res.json()) as Ticket, headers: res.headers };
}

/** What an EventSource sends: no Authorization, Accept: text/event-stream. */
const openWithTicket = (url: string, headers: Record<string, string> = {}) => t.http('GET', url, { headers: { accept: 'text/event-stream', ...headers } });

describe('a stream ticket', () => {
  it('is issued to a key that may read the stream (201, no-store), and opens that stream once, without the key', async () => {
    const c = await t.customer();
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 1 } });
    const issued = await ticketFor(c.key);
    expect(issued.status).toBe(201);
    expect(issued.headers.get('cache-control')).toBe('no-store');
    expect(issued.body.ticket).toMatch(/^st_[A-Za-z0-9]{32}$/);
    expect(issued.body.url).toBe(`/customers/${c.uuid}/events?ticket=${issued.body.ticket}`);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeLessThanOrEqual(61_000);

    const res = await openWithTicket(issued.body.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const stream = sseReader(res.body!);
    expect((await stream.next(1))[0]).toMatchObject({ event: 'setting.set' });
    // A change made through REST arrives.
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 2 } });
    const [next] = await stream.next(1);
    expect(JSON.parse(next!.data!).changes['concurrency-limit'].to).toBe(2);
    await stream.cancel();

    // Once: the same URL again (what EventSource's own reconnect would send) is refused.
    const again = await openWithTicket(issued.body.url);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
  });

  it('resumes with after= on a new ticket: exactly what was missed', async () => {
    const c = await t.customer();
    for (const limit of [1, 2]) await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit } });
    const first = sseReader((await openWithTicket((await ticketFor(c.key)).body.url)).body!);
    const seen = await first.next(2);
    await first.cancel();
    for (const limit of [3, 4]) await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit } });
    const { url } = (await ticketFor(c.key)).body;
    const second = sseReader((await openWithTicket(`${url}&after=${seen[1]!.id}`)).body!);
    const missed = await second.next(2);
    expect(missed.map((e) => JSON.parse(e.data!).changes['concurrency-limit'].to)).toEqual([3, 4]);
    expect((await second.next(1, 300)).length).toBe(0);
    await second.cancel();
  });

  it('is refused when expired, unknown or malformed (401), and leaves no event behind when issued', async () => {
    const c = await t.customer();
    const before = await t.database.prisma.event.count({ where: { customerId: c.id } });
    const { body } = await ticketFor(c.key);
    expect(await t.database.prisma.event.count({ where: { customerId: c.id } })).toBe(before);
    await t.database.prisma.streamTicket.updateMany({ where: { ticketHash: hashSecret(body.ticket) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await openWithTicket(body.url)).status).toBe(401);
    expect((await openWithTicket(`/customers/${c.uuid}/events?ticket=st_${'A'.repeat(32)}`)).status).toBe(401);
    expect((await openWithTicket(`/customers/${c.uuid}/events?ticket=not-a-ticket`)).status).toBe(401);
    expect((await openWithTicket(`/customers/${c.uuid}/events`)).status).toBe(401);
  });

  it('opens only the stream it was issued for (403 elsewhere, the ticket spent), and only the live stream', async () => {
    const [a, b] = [await t.customer(), await t.customer()];
    // The operator's ticket for a's stream does not open b's.
    const operator = await ticketFor(t.systemKey, `/customers/${a.uuid}/events/tickets`);
    expect(operator.status).toBe(201);
    const elsewhere = await openWithTicket(`/customers/${b.uuid}/events?ticket=${operator.body.ticket}`);
    expect(elsewhere.status).toBe(403);
    expect((await openWithTicket(operator.body.url)).status).toBe(401);
    // A customer's ticket, at another customer's path: that customer is not its key's.
    const own = await ticketFor(a.key);
    expect((await openWithTicket(`/customers/${b.uuid}/events?ticket=${own.body.ticket}`)).status).toBe(403);
    // The JSON pages are the key's to read, not a ticket's.
    const page = await t.http('GET', (await ticketFor(a.key)).body.url);
    expect(page.status).toBe(401);
    // Nobody may ask for a ticket to a stream they may not read.
    expect((await t.http('POST', `/customers/${b.uuid}/events/tickets`, { key: a.key })).status).toBe(403);
    expect((await t.http('POST', '/events/tickets', { key: a.key })).status).toBe(403);
    expect((await t.http('POST', '/customers/self/events/tickets')).status).toBe(401);
  });

  it("ends with its key: suspended while the stream is open, the stream says so and ends", async () => {
    const c = await t.customer();
    const stream = sseReader((await openWithTicket((await ticketFor(c.key)).body.url)).body!);
    const suspended = await t.http('PATCH', `/customers/${c.uuid}/apikeys/${c.keyId}`, { key: t.systemKey, body: { active: false } });
    expect(suspended.status).toBe(200);
    // The next wake re-checks the key: a write by the operator wakes the stream.
    await t.http('PUT', `/customers/${c.uuid}/concurrency-limit`, { key: t.systemKey, body: { limit: 5 } });
    const events = await stream.next(5, 3000);
    expect(events.at(-1)).toMatchObject({ event: 'end' });
    expect(stream.ended || (await stream.next(1, 500)).length === 0).toBe(true);
  });

  it("opens the operator's stream of every customer's events with a system key's ticket, and the tenants dialect's stream", async () => {
    const c = await t.customer();
    const all = await ticketFor(t.systemKey, '/events/tickets');
    expect(all.body.url).toBe(`/events?ticket=${all.body.ticket}`);
    const stream = sseReader((await openWithTicket(all.body.url)).body!);
    await t.http('PUT', '/customers/self/concurrency-limit', { key: c.key, body: { limit: 9 } });
    const events = await stream.next(50, 3000);
    expect(events.some((e) => JSON.parse(e.data ?? '{}').customer === c.uuid)).toBe(true);
    await stream.cancel();

    const tenants = await ticketFor(c.key, '/tenants/self/events/tickets');
    expect(tenants.status).toBe(200);
    expect(tenants.body.url).toBe(`/tenants/${c.uuid}/events?ticket=${tenants.body.ticket}`);
    const res = await openWithTicket(tenants.body.url);
    expect(res.status).toBe(200);
    await res.body!.cancel();
  });

  it('is stored only as its hash and never written to a log line', async () => {
    const c = await t.customer();
    const { body } = await ticketFor(c.key);
    await (await openWithTicket(body.url)).body!.cancel();
    await openWithTicket(body.url);
    const row = await t.database.prisma.streamTicket.findUniqueOrThrow({ where: { ticketHash: hashSecret(body.ticket) } });
    expect(row.usedAt).not.toBeNull();
    expect(Object.values(row).map(String).join(' ')).not.toContain(body.ticket.slice(3));
    expect(t.logs.join('\n')).not.toContain(body.ticket);
    expect(t.logs.join('\n')).not.toContain(body.ticket.slice(3));
  });
});
