import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { builder } from './builder.js';
import {
  createCustomer,
  currentCustomer,
  listCustomers,
  resolveCustomer,
  updateCustomer,
  updateCustomerProfile,
} from '../customers/service.js';
import { effectiveConcurrencyLimit, getConcurrencyLimit, hardCap, listSettings } from '../customers/settings.js';
import { ApiKeyRef } from './api-key.js';
import { ConcurrencyLimitRef, SettingsRef } from './settings.js';

export const CustomerRef = builder.prismaObject('Customer', {
  description: 'A customer (tenant) account.',
  fields: (t) => ({
    id: t.exposeInt('id', { description: 'Database id; also accepted wherever a customer is named.' }),
    uuid: t.expose('uuid', { type: 'UUID' }),
    name: t.exposeString('name'),
    active: t.exposeBoolean('active'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    modifiedAt: t.expose('modifiedAt', {
      type: 'DateTime',
      description: 'Moves on every change to the customer, its profile or its settings.',
    }),
    lastActivity: t.expose('lastActivity', {
      type: 'DateTime',
      nullable: true,
      description: 'Last authenticated request by one of its keys; written in batches, so it may lag a few seconds.',
    }),
    profile: t.field({ type: 'JSONObject', resolve: (c) => c.profile as object }),
    billingPlan: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'Set by the operator; `concurrency` in it is the hard cap on concurrent calls.',
      resolve: (c) => (c.billingPlan as object | null) ?? null,
    }),
    settings: t.field({ type: SettingsRef, resolve: (c, _args, ctx) => listSettings(ctx, c) }),
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

builder.queryFields((t) => ({
  customer: t.field({
    type: CustomerRef,
    // Nullable, so that one refused or missing customer among aliased lookups costs that alias only.
    nullable: true,
    description: 'A customer, named by "self", UUID, id or name; null (with the reason in `errors`) when it cannot be read.',
    args: { id: t.arg({ type: 'ID', required: true, defaultValue: 'self' }) },
    resolve: (_root, { id }, ctx) => resolveCustomer(ctx, String(id)),
  }),
  me: t.field({
    type: CustomerRef,
    nullable: true,
    description: 'The customer that owns the calling key; null for a system key.',
    resolve: (_root, _args, ctx) => currentCustomer(ctx),
  }),
  customers: t.connection({
    type: CustomerRef,
    description: 'All customers in id order (system keys only).',
    resolve: (_root, args, ctx) =>
      resolveCursorConnection(
        { args, toCursor: (c) => String(c.id), defaultSize: 50, maxSize: 500 },
        ({ after, before, limit, inverted }: ResolveCursorConnectionArgs) =>
          listCustomers(ctx, { limit, after: cursorId(after), before: cursorId(before), inverted }),
      ),
  }),
}));

function cursorId(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(cursor);
  return Number.isSafeInteger(id) && id >= 0 ? id : -1;
}

const CreateCustomerInput = builder.inputType('CreateCustomerInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    profile: t.field({ type: 'JSONObject' }),
    billingPlan: t.field({ type: 'JSONObject' }),
    active: t.boolean(),
  }),
});

const UpdateCustomerInput = builder.inputType('UpdateCustomerInput', {
  description: 'Fields left out are unchanged; `billingPlan: null` removes the plan.',
  fields: (t) => ({
    active: t.boolean(),
    billingPlan: t.field({ type: 'JSONObject' }),
    profile: t.field({ type: 'JSONObject' }),
  }),
});

/** GraphQL sends explicit nulls for omitted nullable input fields only when written; keep "absent" absent. */
function defined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

builder.mutationFields((t) => ({
  createCustomer: t.field({
    type: CustomerRef,
    description: 'Registers a customer (system keys only).',
    args: { input: t.arg({ type: CreateCustomerInput, required: true }) },
    resolve: (_root, { input }, ctx) => createCustomer(ctx, defined(input)),
  }),
  updateCustomer: t.field({
    type: CustomerRef,
    description: 'Changes `active`, `billingPlan` or `profile` (system keys only for the first two).',
    args: {
      customer: t.arg({ type: 'ID', required: true }),
      input: t.arg({ type: UpdateCustomerInput, required: true }),
    },
    resolve: (_root, { customer, input }, ctx) => updateCustomer(ctx, String(customer), defined(input)),
  }),
  updateCustomerProfile: t.field({
    type: CustomerRef,
    description: 'Replaces the customer-managed profile.',
    args: {
      customer: t.arg({ type: 'ID', required: true, defaultValue: 'self' }),
      profile: t.arg({ type: 'JSONObject', required: true }),
    },
    resolve: (_root, { customer, profile }, ctx) => updateCustomerProfile(ctx, String(customer), profile),
  }),
}));
