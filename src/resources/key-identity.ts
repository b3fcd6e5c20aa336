import type { KeyIdentity } from '../domain/auth/api-keys.js';
import { apiKeyResource } from './api-key.js';
import { defineResource } from './define.js';

/**
 * What `GET /keys/self` answers: who the calling key is. The platform's first PHP library calls it
 * before anything else and keeps `tenantId` (used in every later path) and `name` as its tenant's,
 * so `name` is the customer's name and the key's own label is `keyName`. Never a secret: it is not
 * stored. A REST rendering of the tenants dialect only (GraphQL has `me`).
 */
export const keyIdentityResource = defineResource<KeyIdentity>('KeyIdentity', {
  description: 'The calling API key and the tenant that owns it.',
  fields: {
    id: { kind: 'int', description: "The key's database id.", get: (s) => s.key.id, in: { customers: false, graphql: false } },
    keyId: { kind: 'string', description: "The key's public identifier.", get: (s) => s.key.keyId, in: { customers: false, graphql: false } },
    keyName: { kind: 'string', description: "The key's label.", get: (s) => s.key.name, in: { customers: false, graphql: false } },
    type: { kind: apiKeyResource.fields.type!.kind, description: 'What the key may reach: `customer` (its own tenant) or `system` (every tenant).', get: (s) => s.key.type, in: { customers: false, graphql: false } },
    active: { kind: 'boolean', description: 'Whether the key is active (always true here: a suspended key is refused).', get: (s) => s.key.active, in: { customers: false, graphql: false } },
    tenantId: { kind: 'int', nullable: true, description: "The id of the key's tenant; null for a system key.", get: (s) => s.customer?.id, in: { customers: false, graphql: false } },
    name: { kind: 'string', nullable: true, description: "The name of the key's tenant; null for a system key.", get: (s) => s.customer?.name, in: { customers: false, graphql: false } },
  },
});
