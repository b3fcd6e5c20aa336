import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/kernel/errors.js';
import { RouteTable, decodeParams, readQuery } from '../../src/rest/route-table.js';

/** The REST door's path matching and query reading (src/rest/route-table.ts), with no I/O. */
const routes = [
  { method: 'GET', path: '/customers/{customer}' },
  { method: 'PATCH', path: '/customers/{customer}' },
  { method: 'DELETE', path: '/customers/{customer}' },
  { method: 'GET', path: '/customers/{customer}/settings/{name}' },
  { method: 'PUT', path: '/customers/{customer}/settings/{name}' },
  { method: 'GET', path: '/tenants/self/keys/{key}' },
  { method: 'GET', path: '/tenants/{customer}/keys/{key}' },
  { method: 'POST', path: '/customers' },
];
const table = new RouteTable(routes);

describe('the route table', () => {
  it('matches a path to its template and answers the methods it allows, HEAD beside GET', () => {
    const match = table.match('/customers/Acme')!;
    expect(match.template).toBe('/customers/{customer}');
    expect([...match.methods.keys()]).toEqual(['GET', 'PATCH', 'DELETE']);
    expect(match.allow).toBe('GET, HEAD, PATCH, DELETE');
    expect(table.match('/customers')!.allow).toBe('POST');
  });

  it('keeps an encoded slash inside its segment, and decodes each parameter once', () => {
    const match = table.match('/customers/Acme%2FWest/settings/concurrency-limit')!;
    expect(match.template).toBe('/customers/{customer}/settings/{name}');
    expect(decodeParams(match.template, match.segments)).toEqual({ customer: 'Acme/West', name: 'concurrency-limit' });
    // Decoded once: an encoded percent sign stays a percent sign followed by text.
    const twice = table.match('/customers/100%2525/settings/x')!;
    expect(decodeParams(twice.template, twice.segments).customer).toBe('100%25');
  });

  it('matches no path with an empty segment where a parameter stands, nor one of another length', () => {
    expect(table.match('/customers//settings/x')).toBeUndefined();
    expect(table.match('/customers/Acme/settings')).toBeUndefined();
    expect(table.match('/customers/Acme/')).toBeUndefined();
  });

  it('prefers the template registered first where two fit (a literal segment before a parameter)', () => {
    expect(table.match('/tenants/self/keys/key_1')!.template).toBe('/tenants/self/keys/{key}');
    expect(table.match('/tenants/Acme/keys/key_1')!.template).toBe('/tenants/{customer}/keys/{key}');
  });

  it('refuses two routes for one method and path when it is built', () => {
    expect(() => new RouteTable([...routes, { method: 'GET', path: '/customers/{customer}' }])).toThrow('Two routes for GET /customers/{customer}');
  });

  it('refuses a segment that is not percent-encoded UTF-8 (400)', () => {
    const match = table.match('/customers/%E0%A4%A/settings/x')!;
    const error = (() => {
      try {
        decodeParams(match.template, match.segments);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
  });
});

describe('the query string', () => {
  it('reads decimal digits as numbers and anything else as text', () => {
    expect(readQuery(new URL('http://x/?limit=007&after=12&cursor=-1&q=a%20b'))).toEqual({ limit: 7, after: 12, cursor: '-1', q: 'a b' });
    expect(readQuery(new URL('http://x/'))).toEqual({});
  });

  it('refuses a parameter given twice (400)', () => {
    expect(() => readQuery(new URL('http://x/?limit=1&limit=2'))).toThrow(/may be given once/);
  });
});
