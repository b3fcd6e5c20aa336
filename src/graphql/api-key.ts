import { builder, customerArgs } from './builder.js';
import { createApiKeyInput, updateApiKeyInput, type CreatedApiKey } from '../domain/auth/api-keys.js';
import { createApiKeyOperation, deleteApiKeyOperation, updateApiKeyOperation } from '../resources/operations/api-key.js';
import { operationField } from './operations.js';
import { apiKeyResource } from '../resources/api-key.js';
import { resourceFields, zodArgs, zodInputFields } from './resource-fields.js';

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

type CustomerArg = { customer: string | number };

// The key operations are declared once (src/resources/operations/api-key.ts); createApiKey's
// arguments are its input schema's. revokeApiKey names the key `keyId` and answers it as it was,
// where REST answers 204.
builder.mutationFields((t) => ({
  ...operationField(t, createApiKeyOperation, {
    type: CreatedApiKeyRef,
    args: { ...customerArgs, ...zodArgs(t, createApiKeyInput) },
    target: ({ customer }: CustomerArg & { name: string }) => ({ customer: String(customer) }),
    input: ({ name }: CustomerArg & { name: string }) => ({ name }),
  }),
  ...operationField(t, updateApiKeyOperation, {
    type: ApiKeyRef,
    args: { ...customerArgs, key: t.arg.string({ required: true, description: KEY_REF }), input: t.arg({ type: UpdateApiKeyInput, required: true, description: 'What to change.' }) },
    target: ({ customer, key }: CustomerArg & { key: string; input: object }) => ({ customer: String(customer), key }),
    input: ({ input }: CustomerArg & { key: string; input: object }) => Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null)),
  }),
  ...operationField(t, deleteApiKeyOperation, {
    type: ApiKeyRef,
    args: { ...customerArgs, keyId: t.arg.string({ required: true, description: KEY_REF }) },
    target: ({ customer, keyId }: CustomerArg & { keyId: string }) => ({ customer: String(customer), key: keyId }),
  }),
}));
