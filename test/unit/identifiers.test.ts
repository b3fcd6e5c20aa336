import { describe, expect, it } from 'vitest';
import { MAX_ID, matchesRef, nameProblem, parseCustomerRef, refKey } from '../../src/domain/customers/identifiers.js';

describe('a customer reference', () => {
  it.each([
    ['self', { kind: 'self' }],
    ['4C5E1A2B-0000-4000-8000-00000000000A', { kind: 'uuid', uuid: '4c5e1a2b-0000-4000-8000-00000000000a' }],
    ['42', { kind: 'id', id: 42 }],
    [String(MAX_ID + 1), { kind: 'id', id: -1 }],
    ['Acme Corp', { kind: 'name', name: 'Acme Corp' }],
  ])('%s reads as %j', (raw, ref) => {
    expect(parseCustomerRef(raw)).toEqual(ref);
  });

  it('refuses an empty reference with 400', () => {
    expect(() => parseCustomerRef('')).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('names one loader key per kind, and matches only its own customer', () => {
    const customer = { id: 7, uuid: '4c5e1a2b-0000-4000-8000-00000000000a', name: 'Acme' };
    expect(refKey({ kind: 'id', id: 7 })).toBe('id:7');
    expect(refKey({ kind: 'uuid', uuid: customer.uuid })).toBe(`uuid:${customer.uuid}`);
    expect(refKey({ kind: 'name', name: 'Acme' })).toBe('name:Acme');
    expect(matchesRef(customer, { kind: 'name', name: 'Acme' })).toBe(true);
    expect(matchesRef(customer, { kind: 'id', id: 8 })).toBe(false);
  });
});

describe('a customer name', () => {
  it.each([
    ['', 'must be 1 to 128 characters long'],
    ['x'.repeat(129), 'must be 1 to 128 characters long'],
    ['a\u0000b', 'may not contain control characters'],
    ['self', 'may not be "self"'],
    ['123', 'may not be all digits'],
    ['4c5e1a2b-0000-4000-8000-00000000000a', 'may not look like a UUID'],
  ])('%j is refused: %s', (name, problem) => {
    expect(nameProblem(name)).toBe(problem);
  });

  it('accepts ordinary names', () => {
    expect(nameProblem('Acme Corp')).toBeUndefined();
    expect(nameProblem('Ünïcode 株式会社')).toBeUndefined();
  });
});
