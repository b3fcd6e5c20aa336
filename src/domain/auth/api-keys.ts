import { z } from 'zod';
import type { RequestContext } from '../request-context.js';
import type { Db } from '../../db/database.js';
import type { ApiKey, Customer } from '../../generated/prisma/client.js';
import { conflict, notFound, unauthenticated } from '../../kernel/errors.js';
import { currentCustomer, customerGone, resolveCustomer } from '../customers/service.js';
import { write, type WriteFunction } from '../events/write.js';
import { parseInput, textProblem } from '../../kernel/json.js';
import { generateKeyId, generateSecret, hashSecret } from '../../kernel/secrets.js';

export type { ApiKey };

/** The calling key and the customer that owns it (none for a system key). */
export interface KeyIdentity {
  key: ApiKey;
  customer: Customer | null;
}

/** A key as it is returned when created: the only time its secret is shown. */
export type CreatedApiKey = ApiKey & { secret: string };

const keyName = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => s.isWellFormed() && !/\p{Cc}/u.test(s), 'must be text without control characters')
  .meta({ description: 'A label for the key, 1 to 128 characters without control characters.' });

export const createApiKeyInput = z.strictObject({ name: keyName });

export const updateApiKeyInput = z.strictObject({
  name: keyName.optional().meta({ description: 'A new label for the key.' }),
  active: z
    .boolean()
    .optional()
    .meta({ description: 'false suspends the key (refused with 401 until made active again); true resumes it.' }),
});

export async function listApiKeys(ctx: RequestContext, identifier: string): Promise<ApiKey[]> {
  const customer = await resolveCustomer(ctx, identifier);
  return ctx.loaders.apiKeys.load(customer.id);
}

export async function createApiKey(ctx: RequestContext, identifier: string, input: unknown): Promise<CreatedApiKey> {
  const customer = await resolveCustomer(ctx, identifier);
  const { name } = parseInput(createApiKeyInput, input);
  const secret = generateSecret();
  const answer = await write(ctx, customer.id, 'gateway_write_create_key', [customer.id, generateKeyId(), name, hashSecret(secret)]);
  if (answer.gone) throw customerGone();
  return { ...answer.key!, secret };
}

const DIGITS = /^[0-9]+$/;

/**
 * The live key of the customer that `ref` names: its `keyId`, else its numeric `id`, else its
 * `name` when exactly one live key of the customer has that name (two or more: 409). Deleted keys
 * are never found; keys of other customers neither (404, the same as a key that does not exist).
 * (Writes find the key by the same rule in SQL: gateway_lock_key.)
 */
export async function resolveApiKey(ctx: RequestContext, identifier: string, ref: string): Promise<ApiKey> {
  const customer = await resolveCustomer(ctx, identifier);
  const keys = await ctx.loaders.apiKeys.load(customer.id);
  const found =
    keys.find((k) => k.keyId === ref) ?? (DIGITS.test(ref) ? keys.find((k) => k.id === Number(ref)) : undefined);
  if (found) return found;
  const named = keys.filter((k) => k.name === ref);
  if (named.length > 1) throw ambiguousKey(ref, named.length);
  if (named.length === 0) throw notFound(noKey(ref));
  return named[0]!;
}

/**
 * The calling key and its customer (`GET /keys/self`). With `identifier` (`/tenants/{c}/keys/self`)
 * the customer is resolved first, with the usual authorization, and must own the calling key: a
 * system key belongs to no customer, so it is 404 there.
 */
export async function callingKey(ctx: RequestContext, identifier?: string): Promise<KeyIdentity> {
  if (identifier !== undefined) {
    await resolveCustomer(ctx, identifier);
    if (ctx.principal.type === 'system') throw notFound('The calling key is a system key: it is not one of the customer\'s keys');
  }
  const customer = await currentCustomer(ctx);
  const { apiKeyId } = ctx.principal;
  const key = customer
    ? (await ctx.loaders.apiKeys.load(customer.id)).find((k) => k.id === apiKeyId)
    : await ctx.db.apiKey.findFirst({ where: { id: apiKeyId, deletedAt: null } });
  // It authenticated this request: it is gone only if it was deleted since.
  if (!key) throw unauthenticated();
  return { key, customer };
}

/** Renames, suspends (`active: false`) or resumes (`active: true`) a key; answers it as changed. */
export async function updateApiKey(ctx: RequestContext, identifier: string, ref: string, input: unknown): Promise<ApiKey> {
  const data = parseInput(updateApiKeyInput, input);
  if (data.name === undefined && data.active === undefined) return resolveApiKey(ctx, identifier, ref);
  const customer = await resolveCustomer(ctx, identifier);
  // The key is found by `ref` in the same statement that changes it (the rule of resolveApiKey).
  const answer = await keyWrite(ctx, customer.id, ref, 'gateway_write_update_key', [data.name ?? null, data.active ?? null]);
  return answer.key!;
}

/**
 * Deletes a key: refused for ever (at once here, within a second in every other process) and gone
 * from every list; its row stays. Answers the key as it was before.
 */
export async function deleteApiKey(ctx: RequestContext, identifier: string, ref: string): Promise<ApiKey> {
  const customer = await resolveCustomer(ctx, identifier);
  const answer = await keyWrite(ctx, customer.id, ref, 'gateway_write_delete_key', []);
  return answer.key!;
}

/** A write to the customer's key that `ref` names, with resolveApiKey's refusals. */
async function keyWrite(ctx: RequestContext, customerId: number, ref: string, fn: WriteFunction, args: (string | boolean | null)[]) {
  // A ref no key can have (NUL, which PostgreSQL refuses as text) is not looked up.
  if (textProblem(ref)) throw notFound(noKey(ref));
  const answer = await write(ctx, customerId, fn, [customerId, ref, ...args]);
  if (answer.gone) throw customerGone();
  if (answer.ambiguous) throw ambiguousKey(ref, answer.ambiguous);
  if (answer.missing) throw notFound(noKey(ref));
  return answer;
}

const noKey = (ref: string) => `The customer has no API key "${ref}"`;
const ambiguousKey = (ref: string, count: number) =>
  conflict(`The customer has ${count} API keys named "${ref}"; name the key by its keyId or id instead`);

/** Inserts a key; `secret` is for the ADMIN_API_KEY bootstrap, otherwise a new one is made. */
export async function insertKey(
  db: Pick<Db, 'apiKey'>,
  data: { name: string; type: 'customer' | 'system'; customerId?: number; secret?: string },
): Promise<CreatedApiKey> {
  const secret = data.secret ?? generateSecret();
  const row = await db.apiKey.create({
    data: {
      keyId: generateKeyId(),
      name: data.name,
      type: data.type,
      customerId: data.customerId ?? null,
      secretHash: hashSecret(secret),
    },
  });
  return { ...row, secret };
}

/**
 * Start-up: with ADMIN_API_KEY, make sure a system key with that secret exists (and is active);
 * without it, create one system key when there is none and return it so it can be printed once.
 */
export async function bootstrapSystemKey(db: Db, adminSecret?: string): Promise<CreatedApiKey | undefined> {
  if (adminSecret) {
    const secretHash = hashSecret(adminSecret);
    const existing = await db.apiKey.findUnique({ where: { secretHash } });
    if (!existing) await insertKey(db, { name: 'ADMIN_API_KEY', type: 'system', secret: adminSecret });
    else if (!existing.active || existing.type !== 'system' || existing.deletedAt) {
      await db.apiKey.update({ where: { id: existing.id }, data: { active: true, type: 'system', customerId: null, deletedAt: null } });
    }
    return undefined;
  }
  const any = await db.apiKey.findFirst({ where: { type: 'system', active: true, deletedAt: null }, select: { id: true } });
  if (any) return undefined;
  return insertKey(db, { name: 'bootstrap', type: 'system' });
}
