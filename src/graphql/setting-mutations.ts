// The setting mutations answer the customer, so they live apart from the setting types:
// customer.ts imports settings.ts, this file imports customer.ts, and settings.ts imports neither.
import { builder, customerArgs } from './builder.js';
import {
  removeConcurrencyLimitOperation,
  removeSettingOperation,
  setConcurrencyLimitOperation,
  setSettingOperation,
} from '../resources/operations/settings.js';
import { CustomerRef } from './customer.js';
import { operationField } from './operations.js';

// The operations are declared once (src/resources/operations/settings.ts). Their arguments are
// GraphQL's own: the setting's name and value as separate arguments (described for GraphQL), and the
// limit an Int where REST also takes a string of digits. Each answers the customer as its write
// left it: its modifiedAt is this write's, whatever follows.
type CustomerArg = { customer: string | number };
const target = ({ customer }: CustomerArg) => ({ customer: String(customer) });

builder.mutationFields((t) => ({
  ...operationField(t, setSettingOperation, {
    type: CustomerRef,
    args: {
      ...customerArgs,
      name: t.arg.string({ required: true, description: 'A supported setting, e.g. `concurrency-limit`.' }),
      value: t.arg({ type: 'JSON', description: 'Validated by the setting; null is passed on (and refused by concurrency-limit).' }),
    },
    target,
    input: ({ name, value }: CustomerArg & { name: string; value: unknown }) => ({ name, value }),
    answer: (written) => written.customer,
  }),
  ...operationField(t, removeSettingOperation, {
    type: CustomerRef,
    args: { ...customerArgs, name: t.arg.string({ required: true, description: 'The setting name, e.g. `concurrency-limit`.' }) },
    target: ({ customer, name }: CustomerArg & { name: string }) => ({ customer: String(customer), name }),
    answer: (removed) => removed.customer,
  }),
  ...operationField(t, setConcurrencyLimitOperation, {
    type: CustomerRef,
    args: { ...customerArgs, limit: t.arg.int({ required: true, description: 'An integer from 0 to 1000000.' }) },
    target,
    input: ({ limit }: CustomerArg & { limit: number }) => ({ limit }),
    answer: (written) => written.customer,
  }),
  ...operationField(t, removeConcurrencyLimitOperation, {
    type: CustomerRef,
    args: customerArgs,
    target,
    answer: (removed) => removed.customer,
  }),
}));
