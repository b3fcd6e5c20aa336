import { z } from 'zod';

/**
 * The settings a customer may write: one entry per setting, with the validator of its value and a
 * sentence saying what it accepts (used in error messages). Adding a setting is adding an entry.
 */
export const settingsRegistry = {
  'concurrency-limit': {
    // The platform's clients send every value as a string: "7" is the integer 7 (stored as such).
    schema: z.union([
      z.number().int().min(0).max(1_000_000),
      z
        .string()
        .regex(/^[0-9]{1,7}$/)
        .transform(Number)
        .pipe(z.number().max(1_000_000)),
    ]),
    accepts: 'an integer from 0 to 1000000, or the same as a string of decimal digits ("7")',
    description: 'At most this many concurrent calls across all the customer\'s domains',
  },
} as const satisfies Record<string, { schema: z.ZodType; accepts: string; description: string }>;

export type SettingName = keyof typeof settingsRegistry;

export const supportedSettings = Object.keys(settingsRegistry) as SettingName[];

export function isSupportedSetting(name: string): name is SettingName {
  return Object.hasOwn(settingsRegistry, name);
}

export const CONCURRENCY_LIMIT: SettingName = 'concurrency-limit';
