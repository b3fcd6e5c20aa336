import { builder, customerArgs } from './builder.js';
import type { Setting } from '../customers/settings.js';
import {
  removeConcurrencyLimit,
  removeSetting,
  setConcurrencyLimit,
  setSetting,
  settingsObject,
} from '../customers/settings.js';
import { CONCURRENCY_LIMIT } from '../customers/settings-registry.js';
import { CustomerRef } from './customer.js';
import { settingResource } from '../resources/setting.js';
import { resourceFields } from './resource-fields.js';

export const SettingRef = builder.prismaObject('Setting', {
  description: settingResource.description,
  fields: (t) => resourceFields(t, settingResource),
});

export const SettingsRef = builder.objectRef<Setting[]>('Settings').implement({
  description: "A customer's settings.",
  fields: (t) => ({
    concurrencyLimit: t.int({
      nullable: true,
      description: 'The `concurrency-limit` setting; null when unset.',
      resolve: (settings) => {
        const value = settings.find((s) => s.name === CONCURRENCY_LIMIT)?.value;
        return typeof value === 'number' ? value : null;
      },
    }),
    values: t.field({
      type: 'JSON',
      description: 'All settings as `{ "<name>": <value> }`.',
      resolve: (settings) => settingsObject(settings),
    }),
    items: t.field({ type: [SettingRef], description: 'Every setting as an entry, with its timestamps.', resolve: (settings) => settings }),
  }),
});

export const ConcurrencyLimitRef = builder.objectRef<{ limit: number }>('ConcurrencyLimit').implement({
  description: "The customer's own (soft) concurrency limit.",
  fields: (t) => ({ limit: t.exposeInt('limit', { description: 'At most this many concurrent calls (0 to 1000000).' }) }),
});

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
