import { z } from 'zod';
import { createApiKeyInput, updateApiKeyInput } from '../domain/auth/api-keys.js';
import { SECRET_PATTERN } from '../kernel/secrets.js';
import { statusOf } from '../kernel/errors.js';
import { apiKeyResource } from '../resources/api-key.js';
import { customerResource } from '../resources/customer.js';
import { eventResource } from '../resources/event.js';
import { keyIdentityResource } from '../resources/key-identity.js';
import type { Dialect } from '../resources/define.js';
import { settingResource } from '../resources/setting.js';
import { createCustomerInput, customerPageInput, updateCustomerInput } from '../domain/customers/service.js';
import { concurrencyLimitInput, setSettingInput, settingValueInput } from '../resources/operations/settings.js';
import { jsonValue } from '../kernel/json.js';

/**
 * The REST shapes: request bodies (the operations' input schemas, src/resources/operations), and the JSON the
 * router renders. The router parses with these and the OpenAPI document is generated from them;
 * each one the document names is registered here with its component name.
 */
export const components = z.registry<{ id: string }>();

jsonValue.register(components, { id: 'JsonValue' });

// ---- requests ---------------------------------------------------------------------------------

createCustomerInput.register(components, { id: 'CreateCustomerRequest' });
updateCustomerInput.register(components, { id: 'UpdateCustomerRequest' });
createApiKeyInput.register(components, { id: 'CreateApiKeyRequest' });
updateApiKeyInput.register(components, { id: 'UpdateApiKeyRequest' });

// The settings operations' bodies (src/resources/operations/settings.ts).
setSettingInput.register(components, { id: 'SetSettingRequest' });
settingValueInput.register(components, { id: 'SettingValueRequest' });
concurrencyLimitInput.register(components, { id: 'ConcurrencyLimitRequest' });

/** GET /customers: `?limit=&after=`, as the service pages them. */
export const listCustomersQuery = customerPageInput;

/** GET /tenants: the same, but without `limit` every tenant is answered (streamed). */
export const listTenantsQuery = customerPageInput.extend({ limit: customerPageInput.shape.limit.removeDefault().optional() });

const lenientBodies = new Map<z.ZodType, z.ZodType>();

/**
 * A request body as a dialect reads it. The customers dialect refuses unknown members (400); the
 * tenants dialect ignores them, and read-only ones, without applying them, since the platform's
 * published clients send extra members (`{"self": true, "name": "ci"}`). Checks across members
 * (refinements) are kept. Registered as `Tenant<Name>` for the OpenAPI document.
 */
export function dialectBody<S extends z.ZodType>(schema: S, dialect: Dialect): S {
  if (dialect === 'customers') return schema;
  let lenient = lenientBodies.get(schema);
  if (!lenient) {
    const id = components.get(schema)?.id;
    if (!id) throw new Error('A request body must be registered before its lenient form is made');
    lenient = lenientForm(schema).register(components, { id: `Tenant${id}` });
    lenientBodies.set(schema, lenient);
  }
  return lenient as S;
}

/** The strict body without its read-only members and with unknown members stripped, documented as the strict one. */
function lenientForm(schema: z.ZodType): z.ZodObject {
  const strict = schema as unknown as z.ZodObject;
  const shape = Object.fromEntries(Object.entries(strict.shape).filter(([, field]) => !isReadOnly(field)));
  // The strict form's definition (its checks, the refinements, included) with the members kept and no catchall.
  const lenient = strict.clone({ ...strict.def, shape, catchall: undefined });
  // The documentation of the strict form (descriptions, the `oneOf` a refinement checks) holds for this one too.
  const meta = z.globalRegistry.get(schema);
  return meta ? lenient.meta(meta) : lenient;
}

/**
 * `PATCH` / `PUT /tenants/{c}`: as lenient as every tenants body, but `name` is kept for the service
 * to judge. The platform's first PHP library sends the tenant back with its name: the current name
 * changes nothing, any other is a rename, which is refused as in the customers dialect.
 */
export const tenantUpdateCustomerBody = lenientForm(updateCustomerInput)
  .extend({
    name: z.string().optional().meta({ description: "The tenant's current name, which changes nothing; any other name is refused (400): a tenant cannot be renamed." }),
  })
  .register(components, { id: 'TenantUpdateCustomerRequest' });

/** `z.never().optional()`: how the input schemas name read-only fields so the strict form refuses them by name. */
function isReadOnly(field: z.ZodType): boolean {
  return field instanceof z.ZodOptional && field.unwrap() instanceof z.ZodNever;
}

// ---- responses --------------------------------------------------------------------------------
// Derived from the resources' one description (src/resources), once per dialect.

export const customerJson = customerResource.json('customers').register(components, { id: 'Customer' });
export const tenantJson = customerResource.json('tenants').register(components, { id: 'Tenant' });
export const customerListJson = z
  .array(customerJson)
  .meta({ description: 'A page of customers in id order.' })
  .register(components, { id: 'CustomerList' });
export const tenantListJson = z
  .array(tenantJson)
  .meta({ description: 'Every tenant in id order (or a page of them, with `limit`).' })
  .register(components, { id: 'TenantList' });

export const settingsJson = customerResource.json('customers').shape.settings.register(components, { id: 'Settings' });

export const settingJson = settingResource.json('customers').register(components, { id: 'Setting' });
export const tenantSettingJson = settingResource.json('tenants').register(components, { id: 'TenantSetting' });

export const concurrencyLimitJson = z
  .object({ limit: z.int().meta({ examples: [5] }) })
  .meta({ description: "The customer's own (soft) concurrency limit." })
  .register(components, { id: 'ConcurrencyLimit' });

const secret = z
  .string()
  .regex(SECRET_PATTERN)
  .meta({ description: 'The bearer token. Shown only in this response: it cannot be read again.' });

export const apiKeyJson = apiKeyResource.json('customers').register(components, { id: 'ApiKey' });
export const tenantApiKeyJson = apiKeyResource.json('tenants').register(components, { id: 'TenantApiKey' });
export const apiKeyListJson = z.array(apiKeyJson).register(components, { id: 'ApiKeyList' });
export const tenantApiKeyListJson = z.array(tenantApiKeyJson).register(components, { id: 'TenantApiKeyList' });
export const createdApiKeyJson = apiKeyJson.extend({ secret }).register(components, { id: 'CreatedApiKey' });
export const tenantCreatedApiKeyJson = tenantApiKeyJson.extend({ secret }).register(components, { id: 'TenantCreatedApiKey' });

export const keyIdentityJson = keyIdentityResource.json('tenants').register(components, { id: 'KeyIdentity' });

export const streamTicketJson = z
  .object({
    ticket: z.string().meta({ description: 'The ticket: `st_` and 32 characters. Single use; a credential until then.' }),
    expiresAt: z.iso.datetime({ precision: 0 }).meta({ description: 'When it stops opening the stream, if unused.' }),
    url: z.string().meta({ description: 'The stream\'s path with the ticket: `new EventSource(base + url)`.', examples: ['/customers/4c5e…/events?ticket=st_…'] }),
  })
  .register(components, { id: 'StreamTicket' });

export const eventJson = eventResource.json('customers').register(components, { id: 'Event' });
export const eventListJson = z
  .array(eventJson)
  .meta({ description: 'Events in id order (oldest first).' })
  .register(components, { id: 'EventList' });

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

/** Each resource's REST schemas by dialect: what a route of that dialect answers. */
export const dialectJson = {
  customer: { customers: customerJson, tenants: tenantJson },
  customerList: { customers: customerListJson, tenants: tenantListJson },
  setting: { customers: settingJson, tenants: tenantSettingJson },
  apiKey: { customers: apiKeyJson, tenants: tenantApiKeyJson },
  apiKeyList: { customers: apiKeyListJson, tenants: tenantApiKeyListJson },
  createdApiKey: { customers: createdApiKeyJson, tenants: tenantCreatedApiKeyJson },
} satisfies Record<string, Record<Dialect, z.ZodType>>;

export type ErrorJson = z.output<typeof errorJson>;
