import { describe, expect, it } from 'vitest';
import { keyOf, keysNaming, parseKey, type CustomerKey } from '../../src/domain/customers/customer-key.js';

describe("a customer's loader key", () => {
  it.each<[CustomerKey, string]>([
    [{ kind: 'id', id: 42 }, 'id:42'],
    [{ kind: 'uuid', uuid: '4c5e1a2b-0000-4000-8000-00000000000a' }, 'uuid:4c5e1a2b-0000-4000-8000-00000000000a'],
    [{ kind: 'name', name: 'Acme Corp' }, 'name:Acme Corp'],
    // A name may hold what looks like another kind of key.
    [{ kind: 'name', name: 'id:7' }, 'name:id:7'],
    [{ kind: 'name', name: '' }, 'name:'],
  ])('%j is written %s and read back the same', (key, text) => {
    expect(keyOf(key)).toBe(text);
    expect(parseKey(text)).toEqual(key);
  });

  it('names a customer three ways: by id, uuid and name', () => {
    const customer = { id: 7, uuid: '4c5e1a2b-0000-4000-8000-00000000000a', name: 'Acme' };
    expect(keysNaming(customer)).toEqual(['id:7', `uuid:${customer.uuid}`, 'name:Acme']);
    expect(keysNaming(customer).map(parseKey)).toEqual([
      { kind: 'id', id: 7 },
      { kind: 'uuid', uuid: customer.uuid },
      { kind: 'name', name: 'Acme' },
    ]);
  });
});
