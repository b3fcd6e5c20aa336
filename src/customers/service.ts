import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RequestContext } from '../context.js';
import type { Customer } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import { MAX_ID, matchesRef, nameProblem, parseCustomerRef, refKey } from './identifiers.js';
import { jsonObject, billingPlanSchema, parseInput } from './validation.js';

export type { Customer };

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
    where: { id: { ...(after !== undefined && { gt: after }), ...(before !== undefined && { lt: before }) } },
    orderBy: { id: inverted ? 'desc' : 'asc' },
    take: limit,
  });
  for (const row of rows) ctx.loaders.primeCustomer(row);
  return inverted ? rows.reverse() : rows;
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
  name: customerName,
  profile: jsonObject.optional(),
  billingPlan: billingPlanSchema.optional(),
  active: z.boolean().optional(),
});

export async function createCustomer(ctx: RequestContext, input: unknown): Promise<Customer> {
  requireSystem(ctx, 'create customers');
  const data = parseInput(createCustomerInput, input);
  try {
    const row = await ctx.db.customer.create({
      data: {
        uuid: randomUUID(),
        name: data.name,
        profile: (data.profile ?? {}) as Prisma.InputJsonObject,
        billingPlan: data.billingPlan === null ? Prisma.DbNull : (data.billingPlan as Prisma.InputJsonObject | undefined),
        active: data.active ?? true,
      },
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

const READ_ONLY_FIELDS = ['id', 'uuid', 'name', 'createdAt', 'modifiedAt', 'lastActivity', 'settings'] as const;

/**
 * A partial update as any door sends it. The fields nobody may change are named in the schema so
 * that they are refused by name ("uuid: is read-only"), not as unknown fields.
 */
export const updateCustomerInput = z.strictObject({
  profile: jsonObject.optional().meta({ description: 'Replaces the whole profile.' }),
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
 * A partial update. `profile` is replaced as a whole; `active` and `billingPlan` are the
 * operator's. Fields nobody may change, or that the caller may not, are refused by name.
 */
export async function updateCustomer(ctx: RequestContext, identifier: string, input: unknown): Promise<Customer> {
  const customer = await resolveCustomer(ctx, identifier);
  const data = parseInput(updateCustomerInput, input) as {
    profile?: z.output<typeof jsonObject>;
    active?: boolean;
    billingPlan?: z.output<typeof billingPlanSchema>;
  };
  if (ctx.principal.type !== 'system') {
    const operatorOnly = OPERATOR_FIELDS.filter((field) => data[field] !== undefined);
    if (operatorOnly.length) throw forbidden(`Only a system key may change: ${operatorOnly.join(', ')}`);
  }
  const row = await writeCustomer(ctx, customer.id, (tx) =>
    tx.customer.update({
      where: { id: customer.id },
      data: {
        ...(data.profile !== undefined && { profile: data.profile as Prisma.InputJsonObject }),
        ...(data.active !== undefined && { active: data.active }),
        ...(data.billingPlan !== undefined && {
          billingPlan: data.billingPlan === null ? Prisma.DbNull : (data.billingPlan as Prisma.InputJsonObject),
        }),
      },
    }),
  );
  ctx.loaders.primeCustomer(row);
  if (data.active !== undefined) ctx.authenticator.invalidate(customer.id);
  return row;
}

export async function updateCustomerProfile(ctx: RequestContext, identifier: string, profile: unknown): Promise<Customer> {
  return updateCustomer(ctx, identifier, { profile });
}

/**
 * Options of every transaction that writes to a customer: Prisma's defaults (2 s to get a
 * connection, 5 s in all) are short for a write that queues behind others on a busy pool. Getting
 * a connection is bounded by the pool's own timeout (5 s, db/database.ts), then 503 UNAVAILABLE.
 */
const WRITE_TRANSACTION = { maxWait: 5_000, timeout: 15_000 };

/** Per database client, the tail of each customer's queue of writes in this process. */
const writeQueues = new WeakMap<object, Map<number, Promise<unknown>>>();

/**
 * Runs one write to a customer: a transaction that starts with touchCustomer (the row lock, the
 * new `modifiedAt`). Writes to one customer from this process also queue here first, one at a
 * time, so that a burst of them waits in memory rather than each holding a pooled connection while
 * it waits for the row lock: 200 at once on a pool of 10 otherwise starve every other request of
 * connections, and the last ones time out. The row lock still orders writes between processes.
 */
export function writeCustomer<T>(
  ctx: RequestContext,
  customerId: number,
  write: (tx: Prisma.TransactionClient, customer: Customer) => Promise<T>,
): Promise<T> {
  let queues = writeQueues.get(ctx.db);
  if (!queues) writeQueues.set(ctx.db, (queues = new Map()));
  const run = () => ctx.db.$transaction(async (tx) => write(tx, await touchCustomer(tx, customerId)), WRITE_TRANSACTION);
  const result = (queues.get(customerId) ?? Promise.resolve()).then(run, run);
  const tail = result.catch(() => {});
  queues.set(customerId, tail);
  void tail.then(() => {
    if (queues.get(customerId) === tail) queues.delete(customerId);
  });
  return result;
}

/**
 * Moves `modifiedAt` and locks the customer's row for the rest of the transaction, so concurrent
 * writes to one customer apply one after another. `modifiedAt` strictly increases with each write
 * (at least 1 ms, the column's precision, past the previous one even if the clock has not moved or
 * went back), so it orders a customer's writes. Answers the row as this transaction leaves it.
 */
export async function touchCustomer(tx: Prisma.TransactionClient, customerId: number): Promise<Customer> {
  const rows = await tx.$queryRaw<Customer[]>`
    UPDATE customers SET modified_at = GREATEST(modified_at + interval '1 millisecond', clock_timestamp())
    WHERE id = ${customerId}
    RETURNING id, uuid::text AS uuid, name, active, profile, billing_plan AS "billingPlan", created_at AS "createdAt",
      modified_at AS "modifiedAt", last_activity AS "lastActivity"`;
  if (rows.length === 0) throw notFound('The customer no longer exists');
  return rows[0]!;
}
