import { badRequest } from '../../kernel/errors.js';
import { keyOf, type CustomerKey } from './customer-key.js';

/** How a request names a customer (contract section 3): itself, or by id, uuid or name. */
export type CustomerRef = { kind: 'self' } | CustomerKey;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGITS = /^[0-9]+$/;
/** The largest id the column can hold. */
export const MAX_ID = 2_147_483_647;

/**
 * Reads an identifier: `self`, a UUID (any case), a decimal id, else an exact name. Names are
 * validated so they can never take the first three forms. An id beyond the column's range can name
 * no customer; it is kept as an id that will not be found.
 */
export function parseCustomerRef(raw: string): CustomerRef {
  if (raw === 'self') return { kind: 'self' };
  if (UUID.test(raw)) return { kind: 'uuid', uuid: raw.toLowerCase() };
  if (DIGITS.test(raw)) {
    const id = Number(raw);
    return { kind: 'id', id: id <= MAX_ID ? id : -1 };
  }
  if (raw.length === 0) throw badRequest('A customer identifier is required: "self", a UUID, an id or a name');
  return { kind: 'name', name: raw };
}

/** The loader key of a reference other than `self` (customer-key.ts). */
export function refKey(ref: CustomerKey): string {
  return keyOf(ref);
}

export function matchesRef(customer: { id: number; uuid: string; name: string }, ref: CustomerKey): boolean {
  switch (ref.kind) {
    case 'uuid':
      return customer.uuid === ref.uuid;
    case 'id':
      return customer.id === ref.id;
    case 'name':
      return customer.name === ref.name;
  }
}

/** Why a proposed customer name is unacceptable, or undefined when it is fine. */
export function nameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 128) return 'must be 1 to 128 characters long';
  if (!name.isWellFormed()) return 'must be valid Unicode text';
  if (/\p{Cc}/u.test(name)) return 'may not contain control characters';
  if (name === 'self') return 'may not be "self"';
  if (DIGITS.test(name)) return 'may not be all digits';
  if (UUID.test(name)) return 'may not look like a UUID';
  return undefined;
}
