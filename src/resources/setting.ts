import type { Setting } from '../generated/prisma/client.js';
import { defineResource } from './define.js';

/** One setting entry. The tenants dialect adds the platform's alternative names, `tenantId` and `updatedAt`. */
export const settingResource = defineResource<Setting>('Setting', {
  description: 'A named value owned by a customer.',
  fields: {
    id: { kind: 'int', description: 'Database id of the setting entry.', get: (s) => s.id, in: { customers: false, graphql: false } },
    tenantId: { kind: 'int', description: 'The id of the customer that owns the setting.', get: (s) => s.customerId, in: { customers: false, graphql: false } },
    name: { kind: 'string', description: 'The setting name, e.g. `concurrency-limit`.', get: (s) => s.name },
    value: { kind: 'json', description: 'The value, with the JSON type it was stored as (`"7"` sent for `concurrency-limit` is stored as 7).', get: (s) => s.value },
    createdAt: { kind: 'timestamp', description: 'When the setting was first set.', get: (s) => s.createdAt },
    updatedAt: { kind: 'timestamp', description: 'When the value last changed (the same as `modifiedAt`).', get: (s) => s.modifiedAt, in: { customers: false, graphql: false } },
    modifiedAt: { kind: 'timestamp', description: 'When the value last changed.', get: (s) => s.modifiedAt },
  },
});
