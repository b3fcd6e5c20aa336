import { z } from 'zod';
import { resolveCustomer } from '../../domain/customers/service.js';
import {
  listSettings,
  removeConcurrencyLimit,
  removeSetting,
  requireConcurrencyLimit,
  requireSetting,
  setConcurrencyLimit,
  setSetting,
} from '../../domain/customers/settings.js';
import { CONCURRENCY_LIMIT, settingsRegistry, supportedSettings } from '../../domain/customers/settings-registry.js';
import { defineOperation } from './define.js';

/** A customer's settings, and the concurrency limit, a view of one of them. */

const whatSettingsAccept = supportedSettings.map((name) => `\`${name}\`: ${settingsRegistry[name].accepts}`).join('; ');

/** A setting's value in a body: any JSON, but present; the setting's own validator judges it. */
const settingValue = z
  .unknown()
  .refine((value) => value !== undefined, 'is required')
  .meta({ description: `Any JSON, validated by the setting: ${whatSettingsAccept}.` });

/** A setting's name and value; the service validates both. */
export const setSettingInput = z.strictObject({
  name: z.string().meta({ description: `A supported setting: ${supportedSettings.join(', ')}.`, examples: supportedSettings }),
  value: settingValue,
});

/** A value for the setting the target names. */
export const settingValueInput = z.strictObject({ value: settingValue });

/**
 * The limit in a body: an integer from 0 to 1,000,000, or the same as a string of digits (the
 * platform's clients send strings); a wrong value names the setting and what it accepts.
 */
const limit = settingsRegistry[CONCURRENCY_LIMIT];
const limitError = { error: `Invalid value for setting "${CONCURRENCY_LIMIT}": expected ${limit.accepts}` };
// The type is checked here; the range and the digits by the setting's validator, whose message
// also quotes what was received.
const limitValue = z.union([z.int(limitError), z.string(limitError)], limitError).meta({
  description: limit.accepts,
  examples: [5],
  anyOf: [
    { type: 'integer', minimum: 0, maximum: 1_000_000 },
    { type: 'string', pattern: '^[0-9]{1,7}$' },
  ],
});

/**
 * The concurrency limit. The platform documents `{"limit": n}` while its OpenAPI marks `value`
 * required; both forms are accepted, one at a time.
 */
export const concurrencyLimitInput = z
  .strictObject({ limit: limitValue.optional(), value: limitValue.optional() })
  .refine((body) => (body.limit === undefined) !== (body.value === undefined), {
    message: 'send the limit as {"limit": n} (or {"value": n}), one of the two',
  })
  .meta({
    description:
      'Send `{"limit": n}`. The platform\'s own OpenAPI marks `value` as required for this body although its ' +
      'property is `limit`, so `{"value": n}` is accepted too; exactly one of the two must be present.',
    // What the refinement above checks, for the document.
    oneOf: [{ required: ['limit'] }, { required: ['value'] }],
  });

export const listSettingsOperation = defineOperation({
  name: 'listSettings',
  who: 'owner or system',
  summary: 'All settings, as {name: value}',
  run: async (ctx, { customer }) => listSettings(ctx, await resolveCustomer(ctx, customer)),
});

export const setSettingOperation = defineOperation({
  name: 'setSetting',
  who: 'owner or system',
  input: setSettingInput,
  summary: 'Create or replace a setting',
  description: 'Answers every setting after the change, as `{name: value}`.',
  graphql: { field: 'setCustomerSetting', description: 'Creates or replaces a supported setting; the value is validated by the setting.' },
  run: (ctx, { customer }, input) => setSetting(ctx, customer, input.name, input.value),
});

export const getSettingOperation = defineOperation({
  name: 'getSetting',
  who: 'owner or system',
  summary: 'Get one setting',
  description: '404 when the setting is not set.',
  run: async (ctx, { customer, name }) => requireSetting(ctx, await resolveCustomer(ctx, customer), name!),
});

export const putSettingOperation = defineOperation({
  name: 'putSetting',
  who: 'owner or system',
  input: settingValueInput,
  summary: 'Create or replace one setting',
  run: (ctx, { customer, name }, input) => setSetting(ctx, customer, name!, input.value),
});

export const removeSettingOperation = defineOperation({
  name: 'deleteSetting',
  who: 'owner or system',
  summary: 'Remove one setting',
  description: '404 when the setting is not set.',
  graphql: { field: 'removeCustomerSetting', description: 'Removes a setting; NOT_FOUND when it is not set.' },
  run: (ctx, { customer, name }) => removeSetting(ctx, customer, name!),
});

export const getConcurrencyLimitOperation = defineOperation({
  name: 'getConcurrencyLimit',
  who: 'owner or system',
  summary: "The customer's own (soft) concurrency limit",
  description:
    'The `concurrency-limit` setting; 404 when it is not set. When the billing plan holds a lower hard cap ' +
    '(`billingPlan.concurrency`), that cap applies instead.',
  run: async (ctx, { customer }) => requireConcurrencyLimit(ctx, await resolveCustomer(ctx, customer)),
});

export const setConcurrencyLimitOperation = defineOperation({
  name: 'putConcurrencyLimit',
  who: 'owner or system',
  input: concurrencyLimitInput,
  summary: 'Set the concurrency limit',
  graphql: { field: 'setConcurrencyLimit', description: 'Sets the `concurrency-limit` setting (an integer from 0 to 1000000).' },
  run: (ctx, { customer }, input) => setConcurrencyLimit(ctx, customer, input.limit ?? input.value),
});

export const removeConcurrencyLimitOperation = defineOperation({
  name: 'deleteConcurrencyLimit',
  who: 'owner or system',
  summary: 'Remove the concurrency limit',
  description: '404 when none is set.',
  graphql: { field: 'removeConcurrencyLimit', description: 'Removes the concurrency limit; NOT_FOUND when none is set.' },
  run: (ctx, { customer }) => removeConcurrencyLimit(ctx, customer),
});
