import type { EventRow } from '../domain/events/read.js';
import { defineResource } from './define.js';

/** A change to a customer, its profile, its settings or its keys (contract 4c). */
export const eventResource = defineResource<EventRow>('Event', {
  description: 'A change to a customer, its profile, its settings or its keys, recorded in the transaction of the change.',
  fields: {
    id: { kind: 'serial', description: 'Grows with time; resume a stream after it (`after`, `Last-Event-ID`).', get: (e) => e.id },
    customer: { kind: 'uuid', description: 'The uuid of the customer changed.', get: (e) => e.customer },
    type: {
      kind: {
        name: 'EventType',
        description: 'What an event records. In GraphQL the `.` of the REST value is written `_` (`customer_created`).',
        enum: {
          'customer.created': 'A customer was registered.',
          'customer.updated': 'A customer, or its profile, changed.',
          'customer.deleted': 'A customer was deleted.',
          'setting.set': 'A setting was created or replaced (`subject`: its name).',
          'setting.removed': 'A setting was removed (`subject`: its name).',
          'apikey.created': 'A key was issued (`subject`: its keyId).',
          'apikey.updated': 'A key was renamed, suspended or resumed (`subject`: its keyId).',
          'apikey.deleted': 'A key was deleted (`subject`: its keyId).',
        },
      },
      description: 'What changed: `customer.*`, `setting.set`, `setting.removed` or `apikey.*`.',
      get: (e) => e.type,
    },
    subject: {
      kind: 'string',
      nullable: true,
      description: 'The setting name (`setting.*`) or the keyId (`apikey.*`) changed; null for `customer.*`.',
      get: (e) => e.subject,
    },
    at: { kind: 'timestamp', description: 'When the change was made.', get: (e) => e.at },
    actor: {
      kind: 'jsonObject',
      description: 'Who made it: `{"keyId": "key_…", "kind": "customer" | "system"}`, or `{"keyId": null, "kind": "cli"}` for the operator\'s tool.',
      examples: [{ keyId: 'key_Ab12Cd34Ef56Gh78', kind: 'customer' }],
      get: (e) => ({ keyId: e.actorKeyId, kind: e.actorKind }),
    },
    requestId: { kind: 'string', nullable: true, description: 'The X-Request-Id of the request that made it.', get: (e) => e.requestId },
    changes: {
      kind: 'jsonObject',
      description: '`{"<field>": {"from": …, "to": …}}` for each field moved. Never a secret or its hash.',
      examples: [{ 'concurrency-limit': { from: 5, to: 7 } }],
      get: (e) => e.changes,
    },
  },
});
