import type { RequestContext } from '../request-context.js';
import type { Customer, Setting } from '../../generated/prisma/client.js';
import { Prisma } from '../../generated/prisma/client.js';
import { type AppError, badRequest, notFound } from '../../kernel/errors.js';
import { customerGone, directWriteTarget, resolveCustomer } from './service.js';
import { CustomerBy, Json, write } from '../events/write.js';
import { jsonProblem, textProblem } from '../../kernel/json.js';
import { CONCURRENCY_LIMIT, isSupportedSetting, settingsRegistry, supportedSettings } from './settings-registry.js';

export type { Setting };

export async function listSettings(ctx: RequestContext, customer: Customer): Promise<Setting[]> {
  return ctx.loaders.settings.load(customer.id);
}

/** A customer's settings as the `{name: value}` object of its REST rendering. */
export function settingsObject(settings: Setting[]): Record<string, unknown> {
  return Object.fromEntries(settings.map((s) => [s.name, s.value]));
}

export async function getSetting(ctx: RequestContext, customer: Customer, name: string): Promise<Setting | undefined> {
  return (await listSettings(ctx, customer)).find((s) => s.name === name);
}

const notSet = (name: string) => `Setting "${name}" is not set`;
const NO_CONCURRENCY_LIMIT = 'No concurrency limit is set';

/** A setting that must be there: 404 when it is not set. */
export async function requireSetting(ctx: RequestContext, customer: Customer, name: string): Promise<Setting> {
  const setting = await getSetting(ctx, customer, name);
  if (!setting) throw notFound(notSet(name));
  return setting;
}

/**
 * The customer a setting write names: without a read when directWriteTarget allows (one statement
 * for the whole write), else by resolveCustomer.
 */
async function writeTarget(ctx: RequestContext, identifier: string): Promise<{ target: number | CustomerBy; gone: () => AppError }> {
  const direct = directWriteTarget(ctx, identifier);
  if (direct) return direct;
  return { target: (await resolveCustomer(ctx, identifier)).id, gone: customerGone };
}

/** Runs a check that may refuse; a refusal waits for resolveCustomer's own, which comes first, if the customer was not read yet. */
async function refuseAfterResolving<T>(ctx: RequestContext, identifier: string, target: number | CustomerBy, check: () => T): Promise<T> {
  try {
    return check();
  } catch (error) {
    if (target instanceof CustomerBy) await resolveCustomer(ctx, identifier);
    throw error;
  }
}

/** Validates a setting by the registry: an unknown name or a bad value is a 400 naming both. */
export function validateSetting(name: unknown, value: unknown): { name: string; value: Prisma.InputJsonValue } {
  if (typeof name !== 'string' || !isSupportedSetting(name)) {
    throw badRequest(`Unknown setting ${JSON.stringify(name)}: supported settings are ${supportedSettings.join(', ')}`);
  }
  // Before the setting's own validator, whose checks (and the message's JSON.stringify) recurse.
  const problem = jsonProblem(value);
  if (problem) throw badRequest(`Invalid value for setting "${name}": ${problem}`);
  const definition = settingsRegistry[name];
  const parsed = definition.schema.safeParse(value);
  if (!parsed.success) {
    throw badRequest(`Invalid value for setting "${name}": expected ${definition.accepts}, received ${describe(value)}`);
  }
  return { name, value: parsed.data as Prisma.InputJsonValue };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * Creates or replaces a setting; the customer's `modifiedAt` moves with it. Answers the setting and
 * the customer as this write left them (`modifiedAt` is this write's, even if others follow).
 */
export async function setSetting(
  ctx: RequestContext,
  identifier: string,
  name: unknown,
  value: unknown,
): Promise<{ setting: Setting; customer: Customer }> {
  const { target, gone } = await writeTarget(ctx, identifier);
  // A customer that is not there (404) or not the caller's (403) is said before a bad value (400).
  const valid = await refuseAfterResolving(ctx, identifier, target, () => validateSetting(name, value));
  const answer = await write(ctx, target, 'gateway_write_set_setting', [target, valid.name, new Json(valid.value)]);
  if (answer.gone) throw gone();
  return { setting: answer.setting!, customer: answer.customer! };
}

/**
 * Removes a setting; 404 when it is not set (and then nothing changes). Answers the setting as it
 * was and the customer as this write left it.
 */
export async function removeSetting(
  ctx: RequestContext,
  identifier: string,
  name: string,
  missing = notSet(name),
): Promise<{ removed: Setting; customer: Customer }> {
  const { target, gone } = await writeTarget(ctx, identifier);
  // A name no setting can have (NUL, which PostgreSQL refuses as text) is not looked up.
  await refuseAfterResolving(ctx, identifier, target, () => {
    if (textProblem(name)) throw notFound(missing);
  });
  const answer = await write(ctx, target, 'gateway_write_remove_setting', [target, name]);
  if (answer.gone) throw gone();
  if (answer.missing) throw notFound(missing);
  return { removed: answer.removed!, customer: answer.customer! };
}

/** The customer's own (soft) concurrency limit, or undefined when unset. */
export async function getConcurrencyLimit(ctx: RequestContext, customer: Customer): Promise<number | undefined> {
  const setting = await getSetting(ctx, customer, CONCURRENCY_LIMIT);
  return typeof setting?.value === 'number' ? setting.value : undefined;
}

/** The customer's own limit, which must be set: 404 when it is not. */
export async function requireConcurrencyLimit(ctx: RequestContext, customer: Customer): Promise<number> {
  const limit = await getConcurrencyLimit(ctx, customer);
  if (limit === undefined) throw notFound(NO_CONCURRENCY_LIMIT);
  return limit;
}

/** The limit that applies: the lower of the customer's soft limit and the billing plan's hard cap. */
export async function effectiveConcurrencyLimit(ctx: RequestContext, customer: Customer): Promise<number | undefined> {
  const soft = await getConcurrencyLimit(ctx, customer);
  const hard = hardCap(customer);
  if (soft === undefined) return hard;
  return hard === undefined ? soft : Math.min(soft, hard);
}

export function hardCap(customer: Customer): number | undefined {
  const plan = customer.billingPlan;
  if (plan && typeof plan === 'object' && !Array.isArray(plan)) {
    const cap = (plan as Record<string, unknown>).concurrency;
    if (typeof cap === 'number' && Number.isInteger(cap) && cap >= 0) return cap;
  }
  return undefined;
}

export async function setConcurrencyLimit(
  ctx: RequestContext,
  identifier: string,
  limit: unknown,
): Promise<{ limit: number; customer: Customer }> {
  const { setting, customer } = await setSetting(ctx, identifier, CONCURRENCY_LIMIT, limit);
  return { limit: setting.value as number, customer };
}

/** Removes the limit; answers the limit as it was and the customer as this write left it. */
export async function removeConcurrencyLimit(ctx: RequestContext, identifier: string): Promise<{ limit: number; customer: Customer }> {
  const { removed, customer } = await removeSetting(ctx, identifier, CONCURRENCY_LIMIT, NO_CONCURRENCY_LIMIT);
  return { limit: removed.value as number, customer };
}
