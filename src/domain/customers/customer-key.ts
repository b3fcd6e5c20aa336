/**
 * How the request loaders (domain/loaders.ts) and the read cache (read-cache.ts) name a customer: by its
 * id, its uuid or its name, as a request may (domain/customers/identifiers.ts: any reference but `self`).
 */
export type CustomerKey = { kind: 'id'; id: number } | { kind: 'uuid'; uuid: string } | { kind: 'name'; name: string };

/**
 * The loader's key for a customer: `id:<n>`, `uuid:<uuid>` or `name:<name>`. A string, so the
 * loader's cache tells keys apart by value. The one place these strings are written.
 */
export function keyOf(key: CustomerKey): string {
  switch (key.kind) {
    case 'id':
      return `id:${key.id}`;
    case 'uuid':
      return `uuid:${key.uuid}`;
    case 'name':
      return `name:${key.name}`;
  }
}

/** A loader key read back (what follows the first `:` is the value; a name may hold `:` itself). */
export function parseKey(key: string): CustomerKey {
  const value = key.slice(key.indexOf(':') + 1);
  if (key.startsWith('id:')) return { kind: 'id', id: Number(value) };
  if (key.startsWith('uuid:')) return { kind: 'uuid', uuid: value };
  return { kind: 'name', name: value };
}

/** The three loader keys that name one customer: by id, by uuid and by name. */
export function keysNaming(customer: { id: number; uuid: string; name: string }): string[] {
  return [keyOf({ kind: 'id', id: customer.id }), keyOf({ kind: 'uuid', uuid: customer.uuid }), keyOf({ kind: 'name', name: customer.name })];
}
