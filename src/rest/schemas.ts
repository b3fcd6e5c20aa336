import { z } from 'zod';
import { createApiKeyInput } from '../auth/api-keys.js';
import { statusOf } from '../errors.js';
import { createCustomerInput, customerPageInput, updateCustomerInput } from '../customers/service.js';
import { settingsRegistry, supportedSettings, CONCURRENCY_LIMIT } from '../customers/settings-registry.js';
import { jsonValue } from '../customers/validation.js';

/**
 * The REST shapes: request bodies (most are the services' own input schemas), and the JSON the
 * router renders. The router parses with these and the OpenAPI document is generated from them;
 * each one the document names is registered here with its component name.
 */
export const components = z.registry<{ id: string }>();

jsonValue.register(components, { id: 'JsonValue' });

const whatSettingsAccept = supportedSettings.map((name) => `\`${name}\`: ${settingsRegistry[name].accepts}`).join('; ');

// ---- requests ---------------------------------------------------------------------------------

createCustomerInput.register(components, { id: 'CreateCustomerRequest' });
updateCustomerInput.register(components, { id: 'UpdateCustomerRequest' });
createApiKeyInput.register(components, { id: 'CreateApiKeyRequest' });

/** A setting's value in a body: any JSON, but present; the setting's own validator judges it. */
const settingValue = z
  .unknown()
  .refine((value) => value !== undefined, 'is required')
  .meta({ description: `Any JSON, validated by the setting: ${whatSettingsAccept}.` });

/** POST /customers/{customer}/settings: the setting's name and value; the service validates both. */
export const setSettingBody = z
  .strictObject({
    name: z.string().meta({ description: `A supported setting: ${supportedSettings.join(', ')}.`, examples: supportedSettings }),
    value: settingValue,
  })
  .register(components, { id: 'SetSettingRequest' });

/** PUT /customers/{customer}/settings/{name}. */
export const settingValueBody = z.strictObject({ value: settingValue }).register(components, { id: 'SettingValueRequest' });

/**
 * The limit in a body: an integer, whose range the setting's validator checks (for its message);
 * documented with that validator's own JSON Schema.
 */
const limit = settingsRegistry[CONCURRENCY_LIMIT];
const { $schema: _, ...limitRange } = z.toJSONSchema(limit.schema) as Record<string, unknown>;
const limitValue = z
  // A value of the wrong type names the setting and what it accepts, like the validator's own message.
  .int({ error: `Invalid value for setting "${CONCURRENCY_LIMIT}": expected ${limit.accepts}` })
  .meta({ ...limitRange, description: limit.accepts, examples: [5] });

/**
 * PUT /customers/{customer}/concurrency-limit. The platform documents `{"limit": n}` while its
 * OpenAPI marks `value` required; both forms are accepted, one at a time.
 */
export const concurrencyLimitBody = z
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
  })
  .register(components, { id: 'ConcurrencyLimitRequest' });

/** GET /customers: `?limit=&after=`, as the service pages them. */
export const listCustomersQuery = customerPageInput;

// ---- responses --------------------------------------------------------------------------------

/** Seconds precision, UTC: `2020-03-29T10:26:51Z`. */
const timestamp = z.iso.datetime({ precision: 0 }).meta({ examples: ['2020-03-29T10:26:51Z'] });
const jsonObject = z.record(z.string(), jsonValue);

export const settingsJson = jsonObject
  .meta({ description: 'Every setting as `{"<name>": <value>}`; `{}` when none.', examples: [{ 'concurrency-limit': 5 }] })
  .register(components, { id: 'Settings' });

export const customerJson = z
  .object({
    name: z.string(),
    uuid: z.uuid(),
    id: z.int(),
    profile: jsonObject.meta({ description: 'Customer-managed metadata.' }),
    active: z.boolean(),
    createdAt: timestamp,
    modifiedAt: timestamp.meta({ description: 'Moves on every change to the customer, its profile or its settings.' }),
    settings: settingsJson,
    lastActivity: timestamp
      .nullable()
      .meta({ description: 'The last authenticated request by one of its keys (written in batches, so it may lag a few seconds); null when never.' }),
    billingPlan: jsonObject.nullable().meta({ description: 'Set by the operator; `concurrency` in it is the hard cap on concurrent calls.' }),
  })
  .register(components, { id: 'Customer' });

export const customerListJson = z
  .array(customerJson)
  .meta({ description: 'A page of customers in id order.' })
  .register(components, { id: 'CustomerList' });

export const settingJson = z
  .object({ name: z.string(), value: jsonValue, createdAt: timestamp, modifiedAt: timestamp })
  .register(components, { id: 'Setting' });

export const concurrencyLimitJson = z
  .object({ limit: z.int().meta({ examples: [5] }) })
  .register(components, { id: 'ConcurrencyLimit' });

const apiKeyFields = {
  id: z.int(),
  keyId: z.string().meta({ description: 'Public identifier, safe to log.' }),
  name: z.string(),
  type: z.enum(['customer', 'system']),
  active: z.boolean().meta({ description: 'False once revoked.' }),
  createdAt: timestamp,
  modifiedAt: timestamp,
  lastUsedAt: timestamp.nullable(),
};

export const apiKeyJson = z.object(apiKeyFields).register(components, { id: 'ApiKey' });

export const apiKeyListJson = z.array(apiKeyJson).register(components, { id: 'ApiKeyList' });

export const createdApiKeyJson = z
  .object({
    ...apiKeyFields,
    secret: z
      .string()
      .regex(/^XI[A-Za-z0-9]{32}$/)
      .meta({ description: 'The bearer token. Shown only in this response: it cannot be read again.' }),
  })
  .register(components, { id: 'CreatedApiKey' });

export const statusJson = z.object({ status: z.literal(true) }).register(components, { id: 'Status' });

export const readyJson = z
  .object({
    status: z.literal(true),
    rateLimit: z.enum(['local', 'shared', 'degraded']).meta({
      description:
        'Where per-key rate limits live: `local` (this process; no REDIS_URL), `shared` (Redis, across every ' +
        'replica), or `degraded` (REDIS_URL is set but Redis does not answer: each process limits on its own ' +
        'until it answers again; requests are still served).',
    }),
  })
  .register(components, { id: 'Ready' });

export const errorJson = z
  .object({
    status: z.literal(false),
    code: z.enum(Object.keys(statusOf) as [keyof typeof statusOf, ...(keyof typeof statusOf)[]]),
    message: z.string().meta({ description: 'What was wrong and what is accepted.' }),
  })
  .register(components, { id: 'Error' });

export type CustomerJson = z.output<typeof customerJson>;
export type SettingJson = z.output<typeof settingJson>;
export type ApiKeyJson = z.output<typeof apiKeyJson>;
export type CreatedApiKeyJson = z.output<typeof createdApiKeyJson>;
export type ErrorJson = z.output<typeof errorJson>;
