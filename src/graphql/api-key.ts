import { builder, customerArgs } from './builder.js';
import { createApiKey, revokeApiKey, type CreatedApiKey } from '../auth/api-keys.js';

export const ApiKeyRef = builder.prismaObject('ApiKey', {
  description: 'A bearer API key. Its secret is shown only once, by createApiKey.',
  fields: (t) => ({
    id: t.exposeInt('id'),
    keyId: t.exposeString('keyId', { description: 'Public identifier, safe to log.' }),
    name: t.exposeString('name'),
    type: t.exposeString('type', { description: '`customer` or `system`.' }),
    active: t.exposeBoolean('active', { description: 'False once revoked.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    modifiedAt: t.expose('modifiedAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedApiKeyRef = builder.objectRef<CreatedApiKey>('CreatedApiKey').implement({
  description: 'A new key and its secret. Keep the secret: it cannot be read again.',
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (key) => key }),
    secret: t.exposeString('secret', { description: 'The bearer token: "XI" and 32 characters.' }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    description: 'Issues a customer key for the customer (its owner or a system key).',
    args: { ...customerArgs, name: t.arg.string({ required: true }) },
    resolve: (_root, { customer, name }, ctx) => createApiKey(ctx, String(customer), { name }),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: 'Revokes a key of the customer; it stops working at once on this process, within a second elsewhere.',
    args: { ...customerArgs, keyId: t.arg.string({ required: true }) },
    resolve: (_root, { customer, keyId }, ctx) => revokeApiKey(ctx, String(customer), keyId),
  }),
}));
