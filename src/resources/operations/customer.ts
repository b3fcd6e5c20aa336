import { z } from 'zod';
import {
  createCustomer,
  createCustomerInput,
  deleteCustomer,
  refuseRename,
  resolveCustomer,
  updateCustomer,
  updateCustomerInput,
} from '../../domain/customers/service.js';
import { defineOperation } from './define.js';

/** The customer operations (the list, paged in REST and a connection in GraphQL, is each door's own). */

export const createCustomerOperation = defineOperation({
  name: 'createCustomer',
  who: 'system',
  input: createCustomerInput,
  summary: (noun) => `Register a ${noun}`,
  description:
    'Names are 1 to 128 characters, unique (a deleted customer\'s name stays taken), without control characters, and ' +
    'may not be `self`, all digits or UUID-shaped. The `Location` header names the new customer by uuid.',
  graphql: { field: 'createCustomer', description: 'Registers a customer (system keys only).' },
  run: (ctx, _target, input) => createCustomer(ctx, input),
});

export const getCustomerOperation = defineOperation({
  name: 'getCustomer',
  who: 'owner or system',
  summary: (noun) => `Get a ${noun}`,
  run: (ctx, { customer }) => resolveCustomer(ctx, customer),
});

/**
 * A partial update; `profile` is merged (RFC 7396). `name` is there only in the tenants dialect's
 * lenient body (its clients send the tenant back whole): the current name changes nothing, any
 * other is a rename, refused.
 */
export const updateCustomerOperation = defineOperation({
  name: 'updateCustomer',
  who: 'owner or system',
  input: updateCustomerInput as z.ZodType<z.output<typeof updateCustomerInput> & { name?: string }>,
  summary: (noun) => `Change a ${noun}`,
  description:
    'Fields left out are unchanged. `profile` is merged into the stored profile (JSON Merge Patch, RFC 7396): ' +
    'a member set to null is removed, an object merges member by member, anything else replaces, and a member ' +
    'the request does not name is never lost. The body may be sent as `application/merge-patch+json`. A system ' +
    'key may also set `active` and `billingPlan` (a customer key sending them gets 403).',
  graphql: {
    field: 'updateCustomer',
    description: 'Changes `active`, `billingPlan` (system keys only) or `profile` (merged, as mergeCustomerProfile does).',
  },
  async run(ctx, { customer }, input) {
    const { name, ...change } = input;
    if (name !== undefined) await refuseRename(ctx, customer, name);
    return updateCustomer(ctx, customer, change, 'merge');
  },
});

export const deleteCustomerOperation = defineOperation({
  name: 'deleteCustomer',
  who: 'system',
  summary: (noun) => `Delete a ${noun}`,
  description:
    'From then on the customer is 404 to every read and its keys are refused (401) within a second on every ' +
    'process; its data is kept and its name stays taken (409 on reuse).',
  graphql: {
    field: 'deleteCustomer',
    description:
      'Deletes a customer (system keys only): from then on it is not found by any read, its keys are refused, its ' +
      'data is kept and its name stays taken. Answers the customer as the deletion left it (`deletedAt` set).',
  },
  run: (ctx, { customer }) => deleteCustomer(ctx, customer),
});
