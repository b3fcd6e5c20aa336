import {
  createApiKey,
  createApiKeyInput,
  deleteApiKey,
  listApiKeys,
  resolveApiKey,
  updateApiKey,
  updateApiKeyInput,
} from '../../domain/auth/api-keys.js';
import { defineOperation } from './define.js';

/** A customer's API keys. */

export const listApiKeysOperation = defineOperation({
  name: 'listApiKeys',
  who: 'owner or system',
  summary: "The customer's API keys",
  description: 'Suspended keys included (`active: false`); deleted keys are gone. Never their secrets.',
  run: (ctx, { customer }) => listApiKeys(ctx, customer),
});

export const createApiKeyOperation = defineOperation({
  name: 'createApiKey',
  who: 'owner or system',
  input: createApiKeyInput,
  summary: 'Issue a customer key',
  description: "The answer holds the key's `secret`, shown only this once. The `Location` header names the new key.",
  graphql: { field: 'createApiKey', description: 'Issues a customer key for the customer (its owner or a system key).' },
  run: (ctx, { customer }, input) => createApiKey(ctx, customer, input),
});

export const getApiKeyOperation = defineOperation({
  name: 'getApiKey',
  who: 'owner or system',
  summary: 'Get one key',
  run: (ctx, { customer, key }) => resolveApiKey(ctx, customer, key!),
});

export const updateApiKeyOperation = defineOperation({
  name: 'updateApiKey',
  who: 'owner or system',
  input: updateApiKeyInput,
  summary: 'Rename, suspend or resume a key',
  description:
    '`{"active": false}` suspends the key: it is refused (401) at once here and within a second on every other ' +
    'process, until `{"active": true}` resumes it.',
  graphql: {
    field: 'updateApiKey',
    description:
      'Renames a key, or suspends (`active: false`) or resumes (`active: true`) it. A suspended key is refused at ' +
      'once on this process and within a second on every other one.',
  },
  run: (ctx, { customer, key }, input) => updateApiKey(ctx, customer, key!, input),
});

export const deleteApiKeyOperation = defineOperation({
  name: 'deleteApiKey',
  who: 'owner or system',
  summary: 'Delete a key',
  description:
    'The key is refused for ever (at once here, within a second on every other process) and leaves every list. ' +
    'A key already deleted is 404.',
  graphql: {
    field: 'revokeApiKey',
    description:
      'Deletes a key: refused for ever (at once on this process, within a second on every other one) and gone from ' +
      'every list. Answers the key as it was.',
  },
  run: (ctx, { customer, key }) => deleteApiKey(ctx, customer, key!),
});
