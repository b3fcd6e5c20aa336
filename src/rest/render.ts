import type { ApiKey, CreatedApiKey } from '../auth/api-keys.js';
import type { Customer } from '../customers/service.js';
import { settingsObject, type Setting } from '../customers/settings.js';
import type { ApiKeyJson, CreatedApiKeyJson, CustomerJson, SettingJson } from './schemas.js';

/** `2020-03-29T10:26:51Z`: seconds precision, UTC, as the platform renders its timestamps. */
export function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function optionalTimestamp(date: Date | null): string | null {
  return date ? timestamp(date) : null;
}

/** The customer in the reference's order of fields (with `id`, which the contract adds). */
export function renderCustomer(customer: Customer, settings: Setting[]): CustomerJson {
  return {
    name: customer.name,
    uuid: customer.uuid,
    id: customer.id,
    profile: customer.profile as CustomerJson['profile'],
    active: customer.active,
    createdAt: timestamp(customer.createdAt),
    modifiedAt: timestamp(customer.modifiedAt),
    settings: settingsObject(settings) as CustomerJson['settings'],
    lastActivity: optionalTimestamp(customer.lastActivity),
    billingPlan: (customer.billingPlan as CustomerJson['billingPlan']) ?? null,
  };
}

export function renderSetting(setting: Setting): SettingJson {
  return {
    name: setting.name,
    value: setting.value as SettingJson['value'],
    createdAt: timestamp(setting.createdAt),
    modifiedAt: timestamp(setting.modifiedAt),
  };
}

/** A key without its secret (the secret is not stored, and shown only by `renderCreatedApiKey`). */
export function renderApiKey(key: ApiKey): ApiKeyJson {
  return {
    id: key.id,
    keyId: key.keyId,
    name: key.name,
    type: key.type,
    active: key.active,
    createdAt: timestamp(key.createdAt),
    modifiedAt: timestamp(key.modifiedAt),
    lastUsedAt: optionalTimestamp(key.lastUsedAt),
  };
}

export function renderCreatedApiKey(key: CreatedApiKey): CreatedApiKeyJson {
  return { ...renderApiKey(key), secret: key.secret };
}
