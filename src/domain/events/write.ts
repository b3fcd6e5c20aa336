import type { ApiKey, Customer, Setting } from '../../generated/prisma/client.js';
import type { RequestContext } from '../request-context.js';
import { AppError, isDatabaseUnavailable, unavailable } from '../../kernel/errors.js';
import { afterWrite } from './after-write.js';
import { toSetting, type SettingJson } from '../loaders.js';

/** The kinds of change (contract 4c). */
export type EventType =
  | 'customer.created'
  | 'customer.updated'
  | 'customer.deleted'
  | 'setting.set'
  | 'setting.removed'
  | 'apikey.created'
  | 'apikey.updated'
  | 'apikey.deleted';

/** `{ field: { from, to } }` for each field the change moved. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

/** An event as its write recorded it: what this process acts on once the write has committed. */
export interface RecordedEvent {
  type: EventType;
  /** The setting name or the key's keyId the event is about. */
  subject: string | null;
  changes: Changes;
}

export type CustomerWithSettings = Customer & { settings: Setting[] };

/**
 * What a write function of the database answers (prisma/migrations/…_one_statement_writes): the
 * events it recorded, the customer as the write left it (with its settings), and per kind the
 * setting or key written; or why it changed nothing.
 */
export interface WriteAnswer {
  events: RecordedEvent[];
  customer?: CustomerWithSettings;
  setting?: Setting;
  removed?: Setting;
  key?: ApiKey;
  /** The customer does not exist or is deleted. */
  gone?: boolean;
  /** The setting or key named is not there. */
  missing?: boolean;
  /** Two or more live keys have the name given. */
  ambiguous?: number;
  /** updateCustomer: the row no longer holds what the caller read (`customer` is the row now). */
  stale?: boolean;
}

/** The database's write functions, each with its arguments after the customer (the actor comes last). */
export type WriteFunction =
  | 'gateway_write_set_setting'
  | 'gateway_write_remove_setting'
  | 'gateway_write_update_customer'
  | 'gateway_write_create_customer'
  | 'gateway_write_delete_customer'
  | 'gateway_write_create_key'
  | 'gateway_write_update_key'
  | 'gateway_write_delete_key';

/** An argument sent as JSON text and read as jsonb (pg would send a JS array as a PostgreSQL array). */
export class Json {
  constructor(readonly value: unknown) {}
}

/**
 * The id of the live customer a reference names, found by the write's own statement (NULL, and so
 * `gone`, when there is none): a write whose caller may reach any customer needs no read first.
 */
export class CustomerBy {
  constructor(
    readonly column: 'uuid' | 'id' | 'name',
    readonly value: string | number,
  ) {}
}
export type Argument = string | number | boolean | null | Json | CustomerBy;

/** How a write names its customer: by id, or by a reference its statement resolves. */
export type WriteTarget = number | CustomerBy | undefined;

/**
 * The unit of work: one write, one statement. The database function changes the rows, records the
 * write's event in the same statement (so there is no change without its event, and a refused or
 * failed write leaves neither), and the row triggers queue the notifications other processes hear
 * at commit. When the statement ends, afterWrite (domain/events/after-write.ts) is the one place that acts
 * on what it changed in this process: the request's loaders, the read cache, the key cache, the
 * streams. A statement that failed may still have committed (the connection dropped on the way
 * back), so then the customer is forgotten everywhere here and read afresh.
 *
 * No lock is common to all writes: each function takes its customer's row lock only, and event ids
 * come from the writing transaction (docs/events.md, "The write path").
 */
export async function write(
  ctx: RequestContext,
  /**
   * The customer written, by id or by a reference the statement resolves (then also its first
   * argument); undefined: a new one. Writes to one customer in this process queue one at a time.
   */
  target: WriteTarget,
  fn: WriteFunction,
  args: Argument[],
): Promise<WriteAnswer> {
  if (target === undefined) return call(ctx, undefined, fn, args);
  if (target instanceof CustomerBy) return queued(ctx, `${target.column}:${target.value}`, () => call(ctx, undefined, fn, args));
  return writeInTurn(ctx, target, (run) => run(fn, args));
}

/**
 * Several statements to one customer in one turn of its queue: a write that must look again at
 * what another process wrote meanwhile (updateCustomer's merge) does so before the writes queued
 * behind it, rather than behind them all.
 */
export function writeInTurn<T>(
  ctx: RequestContext,
  customerId: number,
  work: (run: (fn: WriteFunction, args: Argument[]) => Promise<WriteAnswer>) => Promise<T>,
): Promise<T> {
  return queued(ctx, customerId, () => work((fn, args) => call(ctx, customerId, fn, args)));
}

/** One write statement, and afterWrite when it ends. */
async function call(ctx: RequestContext, customerId: number | undefined, fn: WriteFunction, args: Argument[]): Promise<WriteAnswer> {
  const actor = new Json({ keyId: ctx.actor.keyId, kind: ctx.actor.kind, requestId: ctx.requestId ?? null });
  const values = [...args, actor];
  const placeholders = values.map((v, i) => placeholder(v, i + 1)).join(', ');
  let answer: WriteAnswer | undefined;
  try {
    const [row] = await ctx.sql<{ answer: RawAnswer }>(`SELECT ${fn}(${placeholders}) AS answer`, values.map(toParameter));
    answer = decodeAnswer(row!.answer);
    return answer;
  } finally {
    afterWrite(ctx, customerId ?? answer?.customer?.id, answer);
  }
}

function placeholder(value: Argument, n: number): string {
  if (value instanceof Json) return `$${n}::jsonb`;
  if (value instanceof CustomerBy) {
    const cast = value.column === 'uuid' ? '::uuid' : value.column === 'id' ? '::integer' : '::text';
    return `(SELECT id FROM customers WHERE ${value.column} = $${n}${cast} AND deleted_at IS NULL)`;
  }
  return `$${n}`;
}

function toParameter(value: Argument): unknown {
  if (value instanceof Json) return JSON.stringify(value.value ?? null);
  if (value instanceof CustomerBy) return value.value;
  return value;
}

/** Per database client, the tail of each customer's queue of writes in this process (by id or reference). */
const writeQueues = new WeakMap<object, Map<number | string, Promise<unknown>>>();

/**
 * Writes to one customer from this process queue here, one at a time, so that a burst of them
 * waits in memory rather than each holding a pooled connection while it waits for the row lock: 200
 * at once on a pool of 10 otherwise starve every other request of connections. The row lock still
 * orders writes between processes. When a write fails because the database is not answering, the
 * writes queued behind it fail at once with the same 503 rather than each wait out its own timeouts
 * in turn. (None of them has begun, so none applies.)
 */
function queued<T>(ctx: RequestContext, customerId: number | string, run: () => Promise<T>): Promise<T> {
  let queues = writeQueues.get(ctx.sql);
  if (!queues) writeQueues.set(ctx.sql, (queues = new Map()));
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

// ── The answer's JSON, with its instants made Dates again (the functions write them as ISO text) ──

type RawAnswer = Record<string, unknown>;
type Raw = Record<string, unknown>;

/** `raw` with the named members, ISO text or null, made Dates (or null). */
function withDates<T>(raw: Raw, fields: readonly string[]): T {
  const row: Raw = { ...raw };
  for (const field of fields) row[field] = typeof raw[field] === 'string' ? new Date(raw[field]) : null;
  return row as T;
}

function decodeCustomer(raw: Raw): CustomerWithSettings {
  const customer = withDates<CustomerWithSettings>(raw, ['createdAt', 'modifiedAt', 'lastActivity', 'deletedAt']);
  return { ...customer, settings: (raw.settings as SettingJson[]).map(toSetting) };
}

function decodeAnswer(raw: RawAnswer): WriteAnswer {
  return {
    ...(raw as unknown as WriteAnswer),
    events: (raw.events as RecordedEvent[] | undefined) ?? [],
    customer: raw.customer ? decodeCustomer(raw.customer as Raw) : undefined,
    setting: raw.setting ? toSetting(raw.setting as SettingJson) : undefined,
    removed: raw.removed ? toSetting(raw.removed as SettingJson) : undefined,
    key: raw.key ? withDates<ApiKey>(raw.key as Raw, ['createdAt', 'modifiedAt', 'lastUsedAt', 'deletedAt']) : undefined,
  };
}
