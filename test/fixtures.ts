import type { Customer } from '../src/generated/prisma/client.js';

/** A customer row as the database would answer it, for tests that need one without a database. */
export function customerRow(id: number, name = `c${id}`, data: Partial<Customer> = {}): Customer {
  return {
    id,
    uuid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    name,
    active: true,
    profile: {},
    billingPlan: null,
    createdAt: new Date(0),
    modifiedAt: new Date(0),
    lastActivity: null,
    deletedAt: null,
    ...data,
  };
}
