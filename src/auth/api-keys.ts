import { z } from 'zod';
import type { RequestContext } from '../context.js';
import type { Db } from '../db/database.js';
import type { ApiKey } from '../generated/prisma/client.js';
import { notFound } from '../errors.js';
import { resolveCustomer } from '../customers/service.js';
import { parseInput } from '../customers/validation.js';
import { generateKeyId, generateSecret, hashSecret } from './keys.js';

export type { ApiKey };

/** A key as it is returned when created: the only time its secret is shown. */
export type CreatedApiKey = ApiKey & { secret: string };

export const createApiKeyInput = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .refine((s) => s.isWellFormed() && !/\p{Cc}/u.test(s), 'must be text without control characters'),
});

export async function listApiKeys(ctx: RequestContext, identifier: string): Promise<ApiKey[]> {
  const customer = await resolveCustomer(ctx, identifier);
  return ctx.loaders.apiKeys.load(customer.id);
}

export async function createApiKey(ctx: RequestContext, identifier: string, input: unknown): Promise<CreatedApiKey> {
  const customer = await resolveCustomer(ctx, identifier);
  const { name } = parseInput(createApiKeyInput, input);
  const created = await insertKey(ctx.db, { name, type: 'customer', customerId: customer.id });
  ctx.loaders.apiKeys.clear(customer.id);
  return created;
}

/** Revokes a key of the customer (it stays listed, inactive); 404 when it has no such key. */
export async function revokeApiKey(ctx: RequestContext, identifier: string, keyId: string): Promise<ApiKey> {
  const customer = await resolveCustomer(ctx, identifier);
  // A keyId with NUL (which PostgreSQL refuses as text) names no key; it is not looked up.
  const key = keyId.includes('\u0000') ? null : await ctx.db.apiKey.findFirst({ where: { keyId, customerId: customer.id } });
  if (!key) throw notFound(`The customer has no API key "${keyId}"`);
  const revoked = key.active ? await ctx.db.apiKey.update({ where: { id: key.id }, data: { active: false, modifiedAt: new Date() } }) : key;
  ctx.authenticator.invalidateKey(key.id);
  ctx.loaders.apiKeys.clear(customer.id);
  return revoked;
}

/** Inserts a key; `secret` is for the ADMIN_API_KEY bootstrap, otherwise a new one is made. */
export async function insertKey(
  db: Db,
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
    else if (!existing.active || existing.type !== 'system') {
      await db.apiKey.update({ where: { id: existing.id }, data: { active: true, type: 'system', customerId: null } });
    }
    return undefined;
  }
  const any = await db.apiKey.findFirst({ where: { type: 'system', active: true }, select: { id: true } });
  if (any) return undefined;
  return insertKey(db, { name: 'bootstrap', type: 'system' });
}
