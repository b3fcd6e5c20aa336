import { builder, customerArgs } from './builder.js';
import { createApiKey, deleteApiKey, updateApiKey, updateApiKeyInput, type CreatedApiKey } from '../domain/auth/api-keys.js';
import { apiKeyResource } from '../resources/api-key.js';
import { resourceFields, zodInputFields } from './resource-fields.js';

export const ApiKeyRef = builder.prismaObject('ApiKey', {
  description: apiKeyResource.description,
  fields: (t) => resourceFields(t, apiKeyResource),
});

const CreatedApiKeyRef = builder.objectRef<CreatedApiKey>('CreatedApiKey').implement({
  description: 'A new key and its secret. Keep the secret: it cannot be read again.',
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, description: 'The key as it is listed from now on.', resolve: (key) => key }),
    secret: t.exposeString('secret', { description: 'The bearer token: "XI" and 32 characters.' }),
  }),
});

const UpdateApiKeyInput = builder.inputType('UpdateApiKeyInput', {
  description: 'Fields left out are unchanged.',
  fields: (t) => zodInputFields(t, updateApiKeyInput),
});

/** How a key is named in arguments, as in REST paths. */
const KEY_REF = 'The key: its `keyId`, its numeric `id`, or its name when exactly one live key of the customer has it.';

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    description: 'Issues a customer key for the customer (its owner or a system key).',
    args: {
      ...customerArgs,
      name: t.arg.string({ required: true, description: 'A label for the key, 1 to 128 characters without control characters.' }),
    },
    resolve: (_root, { customer, name }, ctx) => createApiKey(ctx, String(customer), { name }),
  }),
  updateApiKey: t.field({
    type: ApiKeyRef,
    description:
      'Renames a key, or suspends (`active: false`) or resumes (`active: true`) it. A suspended key is refused at ' +
      'once on this process and within a second on every other one.',
    args: { ...customerArgs, key: t.arg.string({ required: true, description: KEY_REF }), input: t.arg({ type: UpdateApiKeyInput, required: true, description: 'What to change.' }) },
    resolve: (_root, { customer, key, input }, ctx) =>
      updateApiKey(ctx, String(customer), key, Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null))),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description:
      'Deletes a key: refused for ever (at once on this process, within a second on every other one) and gone from ' +
      'every list. Answers the key as it was.',
    args: { ...customerArgs, keyId: t.arg.string({ required: true, description: KEY_REF }) },
    resolve: (_root, { customer, keyId }, ctx) => deleteApiKey(ctx, String(customer), keyId),
  }),
}));
