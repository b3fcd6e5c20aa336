import { z } from 'zod';

/**
 * The settings a customer may write: one entry per setting, with the validator of its value and a
 * sentence saying what it accepts (used in error messages). Adding a setting is adding an entry.
 */
export const settingsRegistry = {
  'concurrency-limit': {
    schema: z.number().int().min(0).max(1_000_000),
    accepts: 'an integer from 0 to 1000000',
    description: 'At most this many concurrent calls across all the customer\'s domains',
  },
} as const satisfies Record<string, { schema: z.ZodType; accepts: string; description: string }>;

export type SettingName = keyof typeof settingsRegistry;

export const supportedSettings = Object.keys(settingsRegistry) as SettingName[];

export function isSupportedSetting(name: string): name is SettingName {
  return Object.hasOwn(settingsRegistry, name);
}

export const CONCURRENCY_LIMIT: SettingName = 'concurrency-limit';
