import type { CustomerView } from '../domain/customers/service.js';
import { settingsObject } from '../domain/customers/settings.js';
import { defineResource } from './define.js';

/** The customer (tenant) account, in the reference's order of fields. */
export const customerResource = defineResource<CustomerView>('Customer', {
  description: 'A customer (tenant) account.',
  fields: {
    name: {
      kind: 'string',
      description: 'Unique; 1 to 128 characters, not `self`, all digits or UUID-shaped. Fixed at registration.',
      get: (c) => c.name,
    },
    uuid: { kind: 'uuid', description: 'Platform-wide unique identifier.', get: (c) => c.uuid },
    id: { kind: 'int', description: 'Database id; also accepted wherever a customer is named.', get: (c) => c.id },
    profile: {
      kind: 'jsonObject',
      description: 'Customer-managed metadata, e.g. `{"contact-name": "…", "contact-email": "…"}`.',
      get: (c) => c.profile,
    },
    active: {
      kind: 'boolean',
      description: "Set by the operator; an inactive customer's keys are refused (403).",
      get: (c) => c.active,
    },
    createdAt: { kind: 'timestamp', description: 'When the customer was registered.', get: (c) => c.createdAt },
    modifiedAt: {
      kind: 'timestamp',
      description: 'Moves on every change to the customer, its profile or its settings.',
      get: (c) => c.modifiedAt,
    },
    settings: {
      kind: 'jsonObject',
      description: 'Every setting as `{"<name>": <value>}`; `{}` when none.',
      examples: [{ 'concurrency-limit': 5 }],
      get: (c) => settingsObject(c.settings ?? []),
      // GraphQL has a typed Settings object instead (graphql/settings.ts).
      in: { graphql: false },
    },
    lastActivity: {
      kind: 'timestamp',
      nullable: true,
      description: 'The last authenticated request by one of its keys (written in batches, so it may lag a few seconds); null when never.',
      get: (c) => c.lastActivity,
    },
    billingPlan: {
      kind: 'jsonObject',
      nullable: true,
      description: 'Set by the operator; `concurrency` in it is the hard cap on concurrent calls.',
      get: (c) => c.billingPlan,
    },
    deletedAt: {
      kind: 'timestamp',
      nullable: true,
      description: 'When the operator deleted the customer; null while it exists (a deleted customer is not found by any read).',
      get: (c) => c.deletedAt,
    },
  },
});
