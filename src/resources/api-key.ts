import type { ApiKey } from '../generated/prisma/client.js';
import { defineResource } from './define.js';

/** A bearer key, never with its secret (which is not stored; see CreatedApiKey for the one time it is shown). */
export const apiKeyResource = defineResource<ApiKey>('ApiKey', {
  description: 'A bearer API key. Its secret is shown only once, when it is created.',
  fields: {
    id: { kind: 'int', description: 'Database id; also accepted wherever a key is named.', get: (k) => k.id },
    tenantId: { kind: 'int', nullable: true, description: 'The id of the customer that owns the key.', get: (k) => k.customerId, in: { customers: false, graphql: false } },
    keyId: { kind: 'string', description: 'Public identifier, safe to log.', get: (k) => k.keyId },
    name: { kind: 'string', description: 'Human label; names the key in paths when no other live key of the customer has it.', get: (k) => k.name },
    type: {
      kind: {
        name: 'ApiKeyType',
        description: 'What a key may reach.',
        enum: {
          customer: 'Reaches only the customer that owns it.',
          system: "The operator's key: reaches every customer, and may register, deactivate and delete them and set their billing plans.",
        },
      },
      description: 'What the key may reach: `customer` (its own customer) or `system` (every customer).',
      get: (k) => k.type,
    },
    active: { kind: 'boolean', description: 'False while the key is suspended (refused with 401 until made active again).', get: (k) => k.active },
    createdAt: { kind: 'timestamp', description: 'When the key was issued.', get: (k) => k.createdAt },
    modifiedAt: { kind: 'timestamp', description: 'When the key was last renamed, suspended or resumed.', get: (k) => k.modifiedAt },
    lastUsedAt: { kind: 'timestamp', nullable: true, description: 'The last request made with the key (written in batches); null when never.', get: (k) => k.lastUsedAt },
  },
});
