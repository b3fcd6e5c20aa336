import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RequestContext } from '../request-context.js';
import type { Customer } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { AppError, badRequest, conflict, forbidden, isDatabaseUnavailable, notFound, unavailable } from '../errors.js';
import { MAX_ID, matchesRef, nameProblem, parseCustomerRef, refKey } from './identifiers.js';
import { changesOf, transact, type Emit } from '../events/record.js';
import { mergePatch } from './merge-patch.js';
import { jsonObject, jsonProblem, billingPlanSchema, parseInput } from './validation.js';

export type { Customer };
import type { CustomerView } from '../resources/customer.js';

const OTHER_CUSTOMER = 'This API key may only access its own customer';

/**
 * Finds the customer a request names and checks that the caller may reach it. A customer key
 * naming anything but its own customer gets the same 403 whether or not that customer exists, so
 * keys cannot be used to discover other tenants.
 */
export async function resolveCustomer(ctx: RequestContext, identifier: string): Promise<Customer> {
  const ref = parseCustomerRef(identifier);
  const { principal, loaders } = ctx;
  if (principal.type === 'customer') {
    const own = await loaders.customer.load(`id:${principal.customerId}`);
    // A key whose customer is gone cannot authenticate as anyone.
    if (!own) throw new AppError('UNAUTHENTICATED', 'The API key is unknown or has been revoked');
    if (ref.kind !== 'self' && !matchesRef(own, ref)) throw forbidden(OTHER_CUSTOMER);
    return own;
  }
  if (ref.kind === 'self') {
    throw badRequest('"self" names the customer that owns the API key, and a system key has none: name the customer by UUID, id or name');
  }
  // A name no customer can have (too long, control characters such as NUL, …) is not looked up.
  const customer = ref.kind === 'name' && nameProblem(ref.name) ? null : await loaders.customer.load(refKey(ref));
  if (!customer) throw notFound(`No customer is named "${identifier}"`);
  return customer;
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
    const row = await transact(ctx, async (tx, emit) => {
      const created = await tx.customer.create({
        data: {
          uuid: randomUUID(),
          name: data.name,
          profile: (data.profile ?? {}) as Prisma.InputJsonObject,
          billingPlan: data.billingPlan === null ? Prisma.DbNull : (data.billingPlan as Prisma.InputJsonObject | undefined),
          active: data.active ?? true,
        },
      });
      const fields = ['name', 'profile', 'active', 'billingPlan'];
      emit({ customer: created, type: 'customer.created', changes: changesOf({}, created, fields) });
      return created;
    });
    ctx.loaders.primeCustomer(row);
    return row;
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw conflict(`A customer named "${data.name}" already exists`);
    }
    throw error;
  }
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
 * refused by name. The merge reads the profile under the customer's row lock (writeCustomer), so
 * concurrent patches of different members all survive.
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
  const row = await writeCustomer(ctx, customer.id, async (tx, locked, emit) => {
    let profile: Prisma.InputJsonObject | undefined;
    if (data.profile !== undefined) {
      // RFC 7396 on the customer: `"profile": null` removes the profile, which for us is the empty one.
      const next = data.profile === null ? {} : mode === 'merge' ? mergePatch(locked.profile, data.profile) : data.profile;
      profile = next as Prisma.InputJsonObject;
      // The merged profile obeys the same limits as one sent whole.
      const problem = jsonProblem(profile) ?? jsonObject.safeParse(profile).error?.issues[0]?.message;
      if (problem) throw badRequest(`profile: after the merge, the profile ${problem}`);
    }
    const updated = await tx.customer.update({
      where: { id: customer.id },
      data: {
        ...(profile !== undefined && { profile }),
        ...(data.active !== undefined && { active: data.active }),
        ...(data.billingPlan !== undefined && {
          billingPlan: data.billingPlan === null ? Prisma.DbNull : (data.billingPlan as Prisma.InputJsonObject),
        }),
      },
    });
    // A write that changes nothing leaves no event (transact drops an empty customer.updated).
    emit({ customer, type: 'customer.updated', changes: changesOf(locked, updated, ['profile', 'active', 'billingPlan']) });
    return updated;
  });
  ctx.loaders.primeCustomer(row);
  return row;
}

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
  const deleted = await writeCustomer(ctx, customer.id, async (tx, locked, emit) => {
    const row = await tx.customer.update({ where: { id: customer.id }, data: { deletedAt: locked.modifiedAt } });
    emit({ customer, type: 'customer.deleted', changes: { deletedAt: { from: null, to: row.deletedAt } } });
    return row;
  });
  // Later reads in this request find no customer (the caches and key cache were told by transact).
  for (const key of [`id:${customer.id}`, `uuid:${customer.uuid}`, `name:${customer.name}`]) ctx.loaders.customer.prime(key, null);
  return { before, deleted };
}

/** Per database client, the tail of each customer's queue of writes in this process. */
const writeQueues = new WeakMap<object, Map<number, Promise<unknown>>>();

/**
 * Runs one write to a customer: a transaction that starts with touchCustomer (the row lock, the
 * new `modifiedAt`). Writes to one customer from this process also queue here first, one at a
 * time, so that a burst of them waits in memory rather than each holding a pooled connection while
 * it waits for the row lock: 200 at once on a pool of 10 otherwise starve every other request of
 * connections, and the last ones time out. The row lock still orders writes between processes.
 *
 * When a write fails because the database is not answering, the writes queued behind it fail at
 * once with the same 503 rather than each wait out its own timeouts in turn: one after another,
 * a queue of them would hold its last caller for the sum. (None of them has begun, so none applies.)
 */
export function writeCustomer<T>(
  ctx: RequestContext,
  customerId: number,
  write: (tx: Prisma.TransactionClient, customer: Customer, emit: Emit) => Promise<T>,
  options: { touch: boolean } = { touch: true },
): Promise<T> {
  let queues = writeQueues.get(ctx.db);
  if (!queues) writeQueues.set(ctx.db, (queues = new Map()));
  // A write that emitted nothing may still have changed the row: the customer is named as touched,
  // so this process reads it afresh all the same.
  const run = () =>
    transact(ctx, async (tx, emit) => write(tx, await (options.touch ? touchCustomer : lockCustomer)(tx, customerId), emit), [customerId]);
  const previous = queues.get(customerId) ?? Promise.resolve(undefined);
  const result = previous.then((failure) => {
    if (failure !== undefined) throw unavailable();
    return run();
  });
  // What the next write waits for: undefined when this one ended without a database fault.
  const tail: Promise<unknown> = result.then(
    () => undefined,
    (error: unknown) => ((error instanceof AppError && error.code === 'UNAVAILABLE') || isDatabaseUnavailable(error) ? error : undefined),
  );
  queues.set(customerId, tail);
  void tail.then(() => {
    if (queues.get(customerId) === tail) queues.delete(customerId);
  });
  return result;
}

/** The columns of a customer row as the Customer type names them, for the two raw statements below. */
const CUSTOMER_ROW = Prisma.raw(`id, uuid::text AS uuid, name, active, profile, billing_plan AS "billingPlan",
  created_at AS "createdAt", modified_at AS "modifiedAt", last_activity AS "lastActivity", deleted_at AS "deletedAt"`);

/**
 * Moves `modifiedAt` and locks the customer's row for the rest of the transaction, so concurrent
 * writes to one customer apply one after another. `modifiedAt` strictly increases with each write
 * (at least 1 ms, the column's precision, past the previous one even if the clock has not moved or
 * went back), so it orders a customer's writes. Answers the row as this transaction leaves it.
 */
export async function touchCustomer(tx: Prisma.TransactionClient, customerId: number): Promise<Customer> {
  const rows = await tx.$queryRaw<Customer[]>`
    UPDATE customers SET modified_at = GREATEST(modified_at + interval '1 millisecond', clock_timestamp())
    WHERE id = ${customerId} AND deleted_at IS NULL
    RETURNING ${CUSTOMER_ROW}`;
  if (rows.length === 0) throw notFound('The customer no longer exists');
  return rows[0]!;
}

/** Locks the customer's row for the rest of the transaction without moving `modifiedAt` (key changes). */
async function lockCustomer(tx: Prisma.TransactionClient, customerId: number): Promise<Customer> {
  const rows = await tx.$queryRaw<Customer[]>`
    SELECT ${CUSTOMER_ROW}
    FROM customers WHERE id = ${customerId} AND deleted_at IS NULL FOR UPDATE`;
  if (rows.length === 0) throw notFound('The customer no longer exists');
  return rows[0]!;
}
