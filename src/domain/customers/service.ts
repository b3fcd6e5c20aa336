import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RequestContext } from '../request-context.js';
import type { Customer, Setting } from '../../generated/prisma/client.js';
import { type AppError, badRequest, conflict, forbidden, notFound, unauthenticated } from '../../kernel/errors.js';
import { keyOf } from './customer-key.js';
import { MAX_ID, matchesRef, nameProblem, parseCustomerRef } from './identifiers.js';
import { CustomerBy, Json, write, writeInTurn } from '../events/write.js';
import { mergePatch } from '../../kernel/merge-patch.js';
import { MAX_JSON_BYTES, jsonObject, jsonProblem, parseInput } from '../../kernel/json.js';

export type { Customer };

/** A customer as the doors show it: the stored row and, for REST, its settings. */
export type CustomerView = Customer & { settings?: Setting[] };

const OTHER_CUSTOMER = 'This API key may only access its own customer';
/** A customer key whose customer is gone cannot authenticate as anyone. */
const revokedKey = () => unauthenticated('The API key is unknown or has been revoked');
const noCustomerNamed = (identifier: string) => notFound(`No customer is named "${identifier}"`);

/**
 * Finds the customer a request names and checks that the caller may reach it. A customer key
 * naming anything but its own customer gets the same 403 whether or not that customer exists, so
 * keys cannot be used to discover other tenants.
 */
export async function resolveCustomer(ctx: RequestContext, identifier: string): Promise<Customer> {
  const ref = parseCustomerRef(identifier);
  const { principal, loaders } = ctx;
  if (principal.type === 'customer') {
    const own = await loaders.customer.load(keyOf({ kind: 'id', id: principal.customerId }));
    // A key whose customer is gone cannot authenticate as anyone.
    if (!own) throw revokedKey();
    if (ref.kind !== 'self' && !matchesRef(own, ref)) throw forbidden(OTHER_CUSTOMER);
    return own;
  }
  if (ref.kind === 'self') {
    throw badRequest('"self" names the customer that owns the API key, and a system key has none: name the customer by UUID, id or name');
  }
  // A name no customer can have (too long, control characters such as NUL, …) is not looked up.
  const customer = ref.kind === 'name' && nameProblem(ref.name) ? null : await loaders.customer.load(keyOf(ref));
  if (!customer) throw noCustomerNamed(identifier);
  return customer;
}

/**
 * How a write may name its customer without reading it first: a customer key's own customer
 * (`self`: the key's check found it), or, for a system key (which may reach every customer), the
 * reference itself, resolved by the write's own statement. Undefined when access depends on the
 * customer's row (a customer key naming its customer by UUID, id or name) or the reference is one
 * resolveCustomer refuses: then resolveCustomer goes first. `gone` is resolveCustomer's answer for
 * a customer that is not there.
 */
export function directWriteTarget(ctx: RequestContext, identifier: string): { target: number | CustomerBy; gone: () => AppError } | undefined {
  const ref = parseCustomerRef(identifier);
  if (ctx.principal.type === 'customer') {
    if (ref.kind !== 'self') return undefined;
    return { target: ctx.principal.customerId, gone: revokedKey };
  }
  if (ref.kind === 'self' || (ref.kind === 'name' && nameProblem(ref.name)) || (ref.kind === 'id' && ref.id < 0)) return undefined;
  const target = ref.kind === 'uuid' ? new CustomerBy('uuid', ref.uuid) : ref.kind === 'id' ? new CustomerBy('id', ref.id) : new CustomerBy('name', ref.name);
  return { target, gone: () => noCustomerNamed(identifier) };
}

export function requireSystem(ctx: RequestContext, what: string): void {
  if (ctx.principal.type !== 'system') throw forbidden(`Only a system key may ${what}`);
}

/** The customer that owns the calling key, or null for a system key. */
export async function currentCustomer(ctx: RequestContext): Promise<Customer | null> {
  return ctx.principal.type === 'customer' ? resolveCustomer(ctx, 'self') : null;
}

/** The most customers one page holds. */
export const MAX_PAGE_SIZE = 500;

/** A position in the id order: an id the column can hold (a larger one is a 400, not a failed query). */
const customerCursor = z.number().int().min(0).max(MAX_ID);

export const listCustomersInput = z.strictObject({
  // A page and one more: a connection reads one extra row to tell whether another page follows.
  limit: z.number().int().min(1).max(MAX_PAGE_SIZE + 1).default(50),
  after: customerCursor.optional(),
  before: customerCursor.optional(),
  /** Read from the end backwards (Relay `last`). */
  inverted: z.boolean().default(false),
});

/** Customers in id order, `limit` of them after (or before) the given id. System keys only. */
export async function listCustomers(ctx: RequestContext, input: z.input<typeof listCustomersInput>): Promise<Customer[]> {
  requireSystem(ctx, 'list customers');
  const { limit, after, before, inverted } = parseInput(listCustomersInput, input);
  const rows = await ctx.db.customer.findMany({
    where: { deletedAt: null, id: { ...(after !== undefined && { gt: after }), ...(before !== undefined && { lt: before }) } },
    orderBy: { id: inverted ? 'desc' : 'asc' },
    take: limit,
  });
  for (const row of rows) ctx.loaders.primeCustomer(row);
  return inverted ? rows.reverse() : rows;
}

/** How many customers there are (deleted ones are not counted). System keys only. */
export async function countCustomers(ctx: RequestContext): Promise<number> {
  requireSystem(ctx, 'count customers');
  return ctx.db.customer.count({ where: { deletedAt: null } });
}

/**
 * Every customer in id order, a batch at a time, each with its settings: `GET /tenants` without a
 * limit streams them all, holding one batch in memory however many there are. System keys only.
 */
export async function* allCustomers(ctx: RequestContext, batchSize = 500): AsyncGenerator<CustomerView[]> {
  requireSystem(ctx, 'list customers');
  let after = 0;
  for (;;) {
    const batch = await ctx.loaders.customerPage(after, batchSize);
    if (batch.length === 0) return;
    yield batch;
    if (batch.length < batchSize) return;
    after = batch.at(-1)!.id;
  }
}

/** A page of customers as a plain list is asked for: its size and the id it starts after. */
export const customerPageInput = z.strictObject({
  limit: z.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
  after: customerCursor.optional(),
});

/** One page in id order and, when more customers follow, the cursor of the next page. System keys only. */
export async function pageCustomers(
  ctx: RequestContext,
  input: z.input<typeof customerPageInput>,
): Promise<{ customers: Customer[]; next?: number }> {
  requireSystem(ctx, 'list customers');
  const { limit, after } = parseInput(customerPageInput, input);
  const rows = await listCustomers(ctx, { limit: limit + 1, after });
  const customers = rows.slice(0, limit);
  return rows.length > limit ? { customers, next: customers.at(-1)!.id } : { customers };
}

/** The operator's billing plan: any JSON object; `concurrency`, when present, is the hard cap. */
const billingPlanSchema = z
  .looseObject({ concurrency: z.number().int().min(0).max(1_000_000).optional() })
  .refine((value) => JSON.stringify(value).length <= MAX_JSON_BYTES, {
    message: `must be at most ${MAX_JSON_BYTES} bytes of JSON`,
  })
  .nullable();

const customerName = z.string().superRefine((name, issue) => {
  const problem = nameProblem(name);
  if (problem) issue.addIssue({ code: 'custom', message: `name ${problem}` });
});

export const createCustomerInput = z.strictObject({
  name: customerName.meta({
    description: 'Unique; 1 to 128 characters without control characters; not `self`, all digits or UUID-shaped.',
  }),
  profile: jsonObject.optional().meta({ description: 'Customer-managed metadata; `{}` when left out.' }),
  billingPlan: billingPlanSchema
    .optional()
    .meta({ description: 'The operator\'s plan; `concurrency` in it (an integer) is the hard cap on concurrent calls.' }),
  active: z.boolean().optional().meta({ description: 'true when left out; an inactive customer\'s keys are refused (403).' }),
});

export async function createCustomer(ctx: RequestContext, input: unknown): Promise<Customer> {
  requireSystem(ctx, 'create customers');
  const data = parseInput(createCustomerInput, input);
  try {
    const answer = await write(ctx, undefined, 'gateway_write_create_customer', [
      randomUUID(),
      data.name,
      new Json(data.profile ?? {}),
      new Json(data.billingPlan ?? null),
      data.active ?? true,
    ]);
    return answer.customer!;
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`A customer named "${data.name}" already exists`);
    throw error;
  }
}

/** PostgreSQL's unique_violation: the one constraint a valid write can meet (a name taken). */
function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

const READ_ONLY_FIELDS = ['id', 'uuid', 'name', 'createdAt', 'modifiedAt', 'lastActivity', 'settings', 'deletedAt'] as const;

/**
 * A partial update as any door sends it. The fields nobody may change are named in the schema so
 * that they are refused by name ("uuid: is read-only"), not as unknown fields.
 */
export const updateCustomerInput = z.strictObject({
  profile: jsonObject
    .nullable()
    .optional()
    .meta({ description: 'Merged into the stored profile (JSON Merge Patch, RFC 7396): a member set to null is removed, an object merges member by member, anything else replaces. null empties the profile.' }),
  active: z.boolean().optional().meta({ description: 'System keys only.' }),
  billingPlan: billingPlanSchema.optional().meta({ description: 'System keys only; null removes the plan.' }),
  ...Object.fromEntries(
    READ_ONLY_FIELDS.map((field) => [
      field,
      z.never({ error: 'is read-only and cannot be changed' }).optional().meta({ description: 'Read-only: refused.' }),
    ]),
  ),
});
const OPERATOR_FIELDS = ['active', 'billingPlan'] as const;

/**
 * A body that names the customer's current name changes nothing (the tenants dialect's clients send
 * the tenant back whole); any other name is a rename, refused as every read-only field is.
 */
export async function refuseRename(ctx: RequestContext, identifier: string, name: string): Promise<void> {
  const customer = await resolveCustomer(ctx, identifier);
  if (name !== customer.name) throw badRequest('name: is read-only and cannot be changed (a customer cannot be renamed)');
}

/** How an update's `profile` applies: merged into the stored one (REST PATCH), or replacing it. */
export type ProfileMode = 'merge' | 'replace';

/**
 * A partial update. `profile` is merged (RFC 7396) or replaced as `mode` says; `active` and
 * `billingPlan` are the operator's. Fields nobody may change, or that the caller may not, are
 * refused by name. The merge is applied only to the row it was made from (and made again if another
 * write came between), so concurrent patches of different members all survive.
 */
export async function updateCustomer(
  ctx: RequestContext,
  identifier: string,
  input: unknown,
  mode: ProfileMode = 'merge',
): Promise<Customer> {
  const customer = await resolveCustomer(ctx, identifier);
  const data = parseInput(updateCustomerInput, input) as {
    profile?: z.output<typeof jsonObject> | null;
    active?: boolean;
    billingPlan?: z.output<typeof billingPlanSchema>;
  };
  if (ctx.principal.type !== 'system') {
    const operatorOnly = OPERATOR_FIELDS.filter((field) => data[field] !== undefined);
    if (operatorOnly.length) throw forbidden(`Only a system key may change: ${operatorOnly.join(', ')}`);
  }
  if (mode === 'replace' && data.profile === null) throw badRequest('profile: must be a JSON object');
  // The fields to set, merged from the row as read. The database applies them only if the row still
  // holds what they were merged from (one statement, no lock held between read and write); if
  // another write came between, it answers the row as it is now and the merge is made again.
  return writeInTurn(ctx, customer.id, async (run) => {
    let seen: Customer = customer;
    for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
      const set: Record<string, unknown> = {};
      if (data.profile !== undefined) {
        // RFC 7396 on the customer: `"profile": null` removes the profile, which for us is the empty one.
        const next = data.profile === null ? {} : mode === 'merge' ? mergePatch(seen.profile, data.profile) : data.profile;
        // The merged profile obeys the same limits as one sent whole.
        const problem = jsonProblem(next) ?? jsonObject.safeParse(next).error?.issues[0]?.message;
        if (problem) throw badRequest(`profile: after the merge, the profile ${problem}`);
        set.profile = next;
      }
      if (data.active !== undefined) set.active = data.active;
      if (data.billingPlan !== undefined) set.billingPlan = data.billingPlan;
      const read = { profile: seen.profile, active: seen.active, billingPlan: seen.billingPlan };
      // A write that changes nothing moves `modifiedAt` and leaves no event.
      const answer = await run('gateway_write_update_customer', [customer.id, new Json(read), new Json(set)]);
      if (answer.gone) throw customerGone();
      if (!answer.stale) return answer.customer!;
      seen = answer.customer!;
    }
    throw conflict('The customer changed under every attempt to update it; try again');
  });
}

/** How often a profile merge is made again when other writes keep changing the customer meanwhile. */
const MAX_MERGE_ATTEMPTS = 20;

/** Replaces the profile as a whole (GraphQL updateCustomerProfile). */
export async function updateCustomerProfile(ctx: RequestContext, identifier: string, profile: unknown): Promise<Customer> {
  return updateCustomer(ctx, identifier, { profile }, 'replace');
}

/** Merges a JSON Merge Patch into the profile (GraphQL mergeCustomerProfile, REST PATCH). */
export async function mergeCustomerProfile(ctx: RequestContext, identifier: string, patch: unknown): Promise<Customer> {
  return updateCustomer(ctx, identifier, { profile: patch }, 'merge');
}

/**
 * Deletes a customer (operator only): from now on it is 404 to every read and its keys are refused
 * (401), at once in this process and within a second in every other (the auth change feed carries
 * `deleted_at`); its rows stay and its name stays taken. Answers the customer as it was just
 * before, and the time of the deletion.
 */
export async function deleteCustomer(ctx: RequestContext, identifier: string): Promise<{ before: Customer; deleted: Customer }> {
  requireSystem(ctx, 'delete customers');
  const customer = await resolveCustomer(ctx, identifier);
  const before = { ...customer };
  const answer = await write(ctx, customer.id, 'gateway_write_delete_customer', [customer.id]);
  if (answer.gone) throw customerGone();
  // Later reads in this request find no customer (domain/events/after-write.ts).
  return { before, deleted: answer.customer! };
}

/** The customer was deleted (or never was) by the time its write ran. */
export function customerGone(): AppError {
  return notFound('The customer no longer exists');
}
