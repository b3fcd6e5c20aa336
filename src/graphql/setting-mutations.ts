// The setting mutations answer the customer, so they live apart from the setting types:
// customer.ts imports settings.ts, this file imports customer.ts, and settings.ts imports neither.
import { builder, customerArgs } from './builder.js';
import { removeConcurrencyLimit, removeSetting, setConcurrencyLimit, setSetting } from '../domain/customers/settings.js';
import { CustomerRef } from './customer.js';

builder.mutationFields((t) => ({
  setCustomerSetting: t.field({
    type: CustomerRef,
    description: 'Creates or replaces a supported setting; the value is validated by the setting.',
    args: {
      ...customerArgs,
      name: t.arg.string({ required: true, description: 'A supported setting, e.g. `concurrency-limit`.' }),
      value: t.arg({ type: 'JSON', description: 'Validated by the setting; null is passed on (and refused by concurrency-limit).' }),
    },
    // The customer as this write left it: its modifiedAt is this write's, whatever follows.
    resolve: async (_root, { customer, name, value }, ctx) => (await setSetting(ctx, String(customer), name, value)).customer,
  }),
  removeCustomerSetting: t.field({
    type: CustomerRef,
    description: 'Removes a setting; NOT_FOUND when it is not set.',
    args: { ...customerArgs, name: t.arg.string({ required: true, description: 'The setting name, e.g. `concurrency-limit`.' }) },
    resolve: async (_root, { customer, name }, ctx) => (await removeSetting(ctx, String(customer), name)).customer,
  }),
  setConcurrencyLimit: t.field({
    type: CustomerRef,
    description: 'Sets the `concurrency-limit` setting (an integer from 0 to 1000000).',
    args: { ...customerArgs, limit: t.arg.int({ required: true, description: 'An integer from 0 to 1000000.' }) },
    resolve: async (_root, { customer, limit }, ctx) => (await setConcurrencyLimit(ctx, String(customer), limit)).customer,
  }),
  removeConcurrencyLimit: t.field({
    type: CustomerRef,
    description: 'Removes the concurrency limit; NOT_FOUND when none is set.',
    args: customerArgs,
    resolve: async (_root, { customer }, ctx) => (await removeConcurrencyLimit(ctx, String(customer))).customer,
  }),
}));
