import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from './builder.js';
import {
  countCustomers,
  createCustomerInput,
  currentCustomer,
  listCustomers,
  mergeCustomerProfile,
  resolveCustomer,
  updateCustomerInput,
  updateCustomerProfile,
} from '../domain/customers/service.js';
import { createCustomerOperation, deleteCustomerOperation, updateCustomerOperation } from '../resources/operations/customer.js';
import { operationField } from './operations.js';
import { customerResource } from '../resources/customer.js';
import { resourceFields, zodInputFields } from './resource-fields.js';
import { effectiveConcurrencyLimit, getConcurrencyLimit, hardCap, listSettings } from '../domain/customers/settings.js';
import { ApiKeyRef } from './api-key.js';
import { ConcurrencyLimitRef, SettingsRef } from './settings.js';

export const CustomerRef = builder.prismaObject('Customer', {
  description: customerResource.description,
  fields: (t) => ({
    // The fields REST shows too, described once (src/resources/customer.ts); GraphQL's own below.
    ...resourceFields(t, customerResource),
    settings: t.field({ type: SettingsRef, description: "The customer's settings.", resolve: (c, _args, ctx) => listSettings(ctx, c) }),
    concurrencyLimit: t.field({
      type: ConcurrencyLimitRef,
      nullable: true,
      description: "The customer's own (soft) limit; null when unset.",
      resolve: async (c, _args, ctx) => {
        const limit = await getConcurrencyLimit(ctx, c);
        return limit === undefined ? null : { limit };
      },
    }),
    concurrencyHardCap: t.int({
      nullable: true,
      description: "The billing plan's hard cap on concurrent calls; null when the plan sets none.",
      resolve: (c) => hardCap(c) ?? null,
    }),
    effectiveConcurrencyLimit: t.int({
      nullable: true,
      description: 'The limit that applies: the lower of the soft limit and the hard cap; null when neither is set.',
      resolve: async (c, _args, ctx) => (await effectiveConcurrencyLimit(ctx, c)) ?? null,
    }),
    apiKeys: t.field({
      type: [ApiKeyRef],
      description: 'The API keys of this customer, revoked ones included (never their secrets).',
      resolve: (c, _args, ctx) => ctx.loaders.apiKeys.load(c.id),
    }),
  }),
});

/**
 * Customer as an Apollo Federation entity (served by the subgraph door, `/subgraph`): another
 * service's subgraph names a customer by `uuid` (or `id`) and the gateway asks this one for it with
 * the caller's key, under the same authorization as `customer(id:)`: a customer key resolves only
 * its own customer, any other is null with the error beside it.
 */
builder.asEntity(CustomerRef, {
  key: [builder.selection<{ uuid: string }>('uuid'), builder.selection<{ id: number }>('id')],
  // A copy: @apollo/subgraph sets `__typename` on what this returns, and the read cache's rows are frozen.
  resolveReference: async (ref, ctx) => ({ ...(await resolveCustomer(ctx, 'uuid' in ref ? ref.uuid : String(ref.id))) }),
});

builder.queryFields((t) => ({
  customer: t.field({
    type: CustomerRef,
    // Nullable, so that one refused or missing customer among aliased lookups costs that alias only.
    nullable: true,
    description: 'A customer, named by "self", UUID, id or name; null (with the reason in `errors`) when it cannot be read.',
    args: { id: t.arg({ type: 'ID', required: true, defaultValue: 'self', description: '"self" (the customer that owns the key), a UUID, an id or a name.' }) },
    resolve: (_root, { id }, ctx) => resolveCustomer(ctx, String(id)),
  }),
  me: t.field({
    type: CustomerRef,
    nullable: true,
    description: 'The customer that owns the calling key; null for a system key.',
    resolve: (_root, _args, ctx) => currentCustomer(ctx),
  }),
  customers: t.connection(
    {
      type: CustomerRef,
      description:
        'All customers in id order (system keys only), a page at a time: `first` (1 to 500, 50 by default) after the ' +
        '`after` cursor, or `last` before `before`.',
      resolve: (_root, args, ctx) =>
        resolveCursorConnection(
          { args, toCursor: (c) => String(c.id), defaultSize: 50, maxSize: 500 },
          ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) =>
            listCustomers(ctx, { limit, after: cursorId(after), before: cursorId(before), inverted }),
        ),
    },
    {
      name: 'CustomerConnection',
      description: 'A page of customers.',
      fields: (c) => ({
        // Its own COUNT query, run only when the field is asked for.
        totalCount: c.int({
          description: 'How many customers there are in all (deleted ones are not counted), on every page.',
          resolve: (_connection, _args, ctx) => countCustomers(ctx),
        }),
      }),
    },
    { name: 'CustomerEdge', description: 'A customer in a page, with its cursor.' },
  ),
}));

function cursorId(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(cursor);
  return Number.isSafeInteger(id) && id >= 0 ? id : -1;
}

const CreateCustomerInput = builder.inputType('CreateCustomerInput', {
  description: 'A new customer: its name, and optionally its profile, plan and whether it is active.',
  fields: (t) => zodInputFields(t, createCustomerInput),
});

const UpdateCustomerInput = builder.inputType('UpdateCustomerInput', {
  description: 'Fields left out are unchanged; `billingPlan: null` removes the plan.',
  fields: (t) => zodInputFields(t, updateCustomerInput),
});

/** GraphQL sends explicit nulls for omitted nullable input fields only when written; keep "absent" absent. */
function defined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type CustomerArg = { customer: string | number };

builder.mutationFields((t) => ({
  // createCustomer, updateCustomer and deleteCustomer are declared once (src/resources/operations/customer.ts).
  ...operationField(t, createCustomerOperation, {
    type: CustomerRef,
    args: { input: t.arg({ type: CreateCustomerInput, required: true, description: 'The new customer.' }) },
    // A new customer: the operation names no existing one.
    target: () => ({ customer: 'self' }),
    input: ({ input }: { input: object }) => defined(input),
  }),
  ...operationField(t, updateCustomerOperation, {
    type: CustomerRef,
    args: {
      customer: t.arg({ type: 'ID', required: true, description: '"self", a UUID, an id or a name' }),
      input: t.arg({ type: UpdateCustomerInput, required: true, description: 'What to change.' }),
    },
    target: ({ customer }: CustomerArg & { input: object }) => ({ customer: String(customer) }),
    input: ({ input }: CustomerArg & { input: object }) => defined(input),
  }),
  // The profile as a whole, and a merge patch of it alone: GraphQL's own forms, with no REST route.
  updateCustomerProfile: t.field({
    type: CustomerRef,
    description: 'Replaces the customer-managed profile.',
    args: {
      customer: t.arg({ type: 'ID', required: true, defaultValue: 'self', description: '"self", a UUID, an id or a name' }),
      profile: t.arg({ type: 'JSONObject', required: true, description: 'The whole new profile (members left out are removed).' }),
    },
    resolve: (_root, { customer, profile }, ctx) => updateCustomerProfile(ctx, String(customer), profile),
  }),
  mergeCustomerProfile: t.field({
    type: CustomerRef,
    description:
      'Merges a JSON Merge Patch (RFC 7396) into the profile, as REST PATCH does: a member set to null is removed, ' +
      'an object merges member by member, anything else replaces; members the patch does not name are kept.',
    args: {
      customer: t.arg({ type: 'ID', required: true, defaultValue: 'self', description: '"self", a UUID, an id or a name' }),
      patch: t.arg({ type: 'JSONObject', required: true, description: 'The merge patch of the profile.' }),
    },
    resolve: (_root, { customer, patch }, ctx) => mergeCustomerProfile(ctx, String(customer), patch),
  }),
  ...operationField(t, deleteCustomerOperation, {
    type: CustomerRef,
    args: { customer: t.arg({ type: 'ID', required: true, description: 'A UUID, an id or a name' }) },
    target: ({ customer }: CustomerArg) => ({ customer: String(customer) }),
    answer: ({ deleted }) => deleted,
  }),
}));
