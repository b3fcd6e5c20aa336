/**
 * The operator's command-line tool, against the same database as the service (DATABASE_URL, or
 * the embedded database in DATA_DIR while the service is stopped).
 *
 *   npm run cli -- customer:create <name> [--profile '{"contact-name":"…"}'] [--billing-plan '{"concurrency":10}']
 *   npm run cli -- customer:list
 *   npm run cli -- key:create <customer> [--name label]     customer: uuid, id or name
 *   npm run cli -- key:create-system [--name label]
 *   npm run cli -- key:list <customer>
 *   npm run cli -- key:revoke <keyId>          (deletes the key)
 *   npm run cli -- key:suspend <keyId> | key:resume <keyId>
 *   npm run cli -- customer:delete <customer>
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { createApiKey, deleteApiKey, insertKey, updateApiKey } from './domain/auth/api-keys.js';
import { databaseTimeouts, loadConfig } from './boot/config.js';
import { createServices } from './boot/services.js';
import { createRequestContext } from './domain/request-context.js';
import { createCustomer, deleteCustomer, resolveCustomer } from './domain/customers/service.js';
import { openDatabase } from './db/database.js';
import { AppError } from './kernel/errors.js';

const USAGE = `usage: npm run cli -- <command> [args]
  customer:create <name> [--profile JSON] [--billing-plan JSON]
  customer:list
  customer:delete <customer>
  key:create <customer> [--name LABEL]      (customer: uuid, id or name)
  key:create-system [--name LABEL]
  key:list <customer>
  key:revoke <keyId>                        (deletes the key for ever)
  key:suspend <keyId>, key:resume <keyId>`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    profile: { type: 'string' },
    'billing-plan': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const [command, arg] = positionals;
if (!command || values.help) {
  console.log(USAGE);
  process.exit(command ? 0 : 2);
}

// One command, then exit: WebAssembly (the embedded PostgreSQL, Prisma's query compiler) stays on
// V8's baseline compiler. Optimising it in the background costs a short run more CPU than it saves
// (docs/operations.md, Operator CLI: about half the CPU a command took). A V8 flag set while the
// process runs: V8 reads it as it compiles a module, and those two are compiled after this line
// (the database's opening, the first Prisma query); measured to take effect on Node 20.
setFlagsFromString('--liftoff-only');

const config = loadConfig();
// The embedded database's folder is refused while the service runs (its pid file): say so plainly.
const database = await openDatabase({
  url: config.DATABASE_URL,
  dataDir: config.DATA_DIR,
  poolSize: 2,
  timeouts: databaseTimeouts(config),
}).catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
const services = createServices(database, { authCacheTtlMs: 0, activityFlushMs: 60_000 });
// The operator acts with the powers of a system key; the services apply the same rules as the API.
// Its changes are recorded as the CLI's (events name the actor kind `cli`).
const ctx = createRequestContext(services, { type: 'system', apiKeyId: 0, keyId: 'cli' }, { actor: { keyId: null, kind: 'cli' } });
const db = database.prisma;

function json(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('BAD_REQUEST', `--${flag} must be JSON`);
  }
}

function need(value: string | undefined, what: string): string {
  if (!value) throw new AppError('BAD_REQUEST', `${what} is required\n${USAGE}`);
  return value;
}

try {
  switch (command) {
    case 'customer:create': {
      const customer = await createCustomer(ctx, {
        name: need(arg, 'a customer name'),
        profile: json(values.profile, 'profile'),
        billingPlan: json(values['billing-plan'], 'billing-plan'),
      });
      console.log(JSON.stringify({ id: customer.id, uuid: customer.uuid, name: customer.name }));
      break;
    }
    case 'customer:list': {
      for (const c of await db.customer.findMany({ where: { deletedAt: null }, orderBy: { id: 'asc' } })) {
        console.log(`${c.id}\t${c.uuid}\t${c.active ? 'active' : 'inactive'}\t${c.name}`);
      }
      break;
    }
    case 'customer:delete': {
      const { before } = await deleteCustomer(ctx, need(arg, 'a customer'));
      console.log(`deleted customer ${before.name} (${before.uuid}); its keys are refused from now on`);
      break;
    }
    case 'key:create': {
      const customer = await resolveCustomer(ctx, need(arg, 'a customer'));
      const key = await createApiKey(ctx, String(customer.id), { name: values.name ?? 'cli' });
      console.log(`keyId ${key.keyId} for customer ${customer.name}\nsecret (shown once): ${key.secret}`);
      break;
    }
    case 'key:create-system': {
      const key = await insertKey(db, { name: values.name ?? 'cli', type: 'system' });
      console.log(`keyId ${key.keyId} (system)\nsecret (shown once): ${key.secret}`);
      break;
    }
    case 'key:list': {
      const customer = await resolveCustomer(ctx, need(arg, 'a customer'));
      for (const k of await db.apiKey.findMany({ where: { customerId: customer.id, deletedAt: null }, orderBy: { id: 'asc' } })) {
        console.log(`${k.keyId}\t${k.active ? 'active' : 'suspended'}\t${k.name}\tlast used ${k.lastUsedAt?.toISOString() ?? 'never'}`);
      }
      break;
    }
    case 'key:revoke':
    case 'key:suspend':
    case 'key:resume': {
      const keyId = need(arg, 'a keyId');
      const key = await db.apiKey.findFirst({ where: { keyId, deletedAt: null } });
      if (!key) throw new AppError('NOT_FOUND', `No live key has keyId ${arg}`);
      if (key.customerId === null) {
        // A system key belongs to no customer, so its changes are nobody's events.
        const data = command === 'key:revoke' ? { deletedAt: new Date() } : { active: command === 'key:resume', modifiedAt: new Date() };
        await db.apiKey.update({ where: { id: key.id }, data });
      } else if (command === 'key:revoke') {
        await deleteApiKey(ctx, String(key.customerId), keyId);
      } else {
        await updateApiKey(ctx, String(key.customerId), keyId, { active: command === 'key:resume' });
      }
      const done = { 'key:revoke': 'deleted', 'key:suspend': 'suspended', 'key:resume': 'resumed' }[command];
      console.log(`${done} ${arg}; running services see it within a second`);
      break;
    }
    default:
      throw new AppError('BAD_REQUEST', `unknown command ${command}\n${USAGE}`);
  }
  process.exitCode = 0;
} catch (error) {
  console.error(error instanceof AppError ? `error: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  await services.activity.stop();
  await database.close();
}
