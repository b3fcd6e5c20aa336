import { builder } from './builder.js';
import type { Setting } from '../domain/customers/settings.js';
import { settingsObject } from '../domain/customers/settings.js';
import { CONCURRENCY_LIMIT } from '../domain/customers/settings-registry.js';
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
