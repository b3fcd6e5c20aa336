import type { Authenticator } from './auth/authenticator.js';
import type { Actor, Principal } from './auth/principal.js';
import type { Db, Sql } from '../db/database.js';
import { unauthenticated } from '../kernel/errors.js';
import type { EventHub } from './events/hub.js';
import { redeemTicket } from './events/tickets.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { Services } from './services.js';
import type { ReadCache } from './customers/read-cache.js';

/** What one authenticated request carries into the services. */
export interface RequestContext {
  db: Db;
  sql: Sql;
  principal: Principal;
  /** Who the events of this request's changes name. */
  actor: Actor;
  requestId?: string;
  /** The request's Authorization header. */
  authorization?: string | null;
  /** Checks the caller's key again: long-lived streams do as they go (a suspended key ends them). */
  reauthenticate(): Promise<Principal>;
  /**
   * Set when the caller came with a stream ticket (domain/events/tickets.ts): the one stream it opens,
   * a customer's id or null for everyone's. Undefined for a key.
   */
  streamScope?: number | null;
  loaders: Loaders;
  authenticator: Authenticator;
  /** This process's event streams, told of this request's commits; and how streams behave. */
  eventHub?: EventHub;
  events: Services['events'];
  /** Dropped for the customer a write touched, when its statement ends (domain/events/after-write.ts). */
  readCache?: ReadCache;
  /** Tells the other listeners on the database of a change (embedded database: db/local-feed.ts). */
  announce?: (channel: string, payload: string) => void;
}

export function createRequestContext(
  services: Services,
  principal: Principal,
  extra: {
    requestId?: string;
    actor?: Actor;
    authorization?: string | null;
    reauthenticate?: () => Promise<Principal>;
    streamScope?: number | null;
  } = {},
): RequestContext {
  return {
    db: services.db,
    sql: services.sql,
    principal,
    actor: extra.actor ?? { keyId: principal.keyId, kind: principal.type },
    requestId: extra.requestId,
    authorization: extra.authorization,
    reauthenticate: extra.reauthenticate ?? (() => services.authenticator.authenticate(extra.authorization)),
    streamScope: extra.streamScope,
    loaders: createLoaders(services.db, services.sql, services.readCache),
    readCache: services.readCache,
    announce: services.announce,
    authenticator: services.authenticator,
    eventHub: services.events.hub,
    events: services.events,
  };
}

/**
 * The context of an introspection-only operation sent without a key: it reaches no resolver, and
 * anything that asks who is calling is refused as unauthenticated all the same.
 */
export function introspectionContext(services: Services): RequestContext {
  return {
    db: services.db,
    // Not a getter: Yoga copies the context's properties, which would call it. Every read of the
    // principal's members is refused instead.
    principal: new Proxy({} as Principal, {
      get() {
        throw unauthenticated();
      },
    }),
    actor: new Proxy({} as Actor, {
      get() {
        throw unauthenticated();
      },
    }),
    sql: services.sql,
    reauthenticate: () => Promise.reject(unauthenticated()),
    loaders: createLoaders(services.db, services.sql),
    authenticator: services.authenticator,
    events: services.events,
  };
}

/**
 * What a door notes about a request on its way in (the front door's RequestInfo is one): its id,
 * read here, and the key that called, written here for the request log.
 */
export interface RequestNote {
  readonly requestId: string;
  keyId?: string;
}

/**
 * The one way into the services for both doors: verify the bearer key, apply the key's rate
 * limit, note the activity, and build the request's context. Throws AppError (401, 403, 429).
 */
export async function authenticateRequest(services: Services, authorization: string | null, info: RequestNote): Promise<RequestContext> {
  const principal = await services.authenticator.authenticate(authorization);
  info.keyId = principal.keyId;
  await services.rateLimiter.take(principal);
  services.activity.record(principal);
  return createRequestContext(services, principal, { requestId: info.requestId, authorization });
}

/**
 * The way in for a live event stream opened with a stream ticket instead of a key (a browser's
 * EventSource): the ticket is taken (once), and the request goes on as the key that asked for it,
 * limited to the one stream the ticket names. Throws AppError (401 for a ticket unknown, used or
 * expired; then as authenticateRequest).
 */
export async function authenticateTicket(services: Services, ticket: string, info: RequestNote): Promise<RequestContext> {
  const redeemed = await redeemTicket(services.sql, ticket);
  if (!redeemed) throw unauthenticated('The stream ticket is unknown, used or expired: ask for a new one');
  const reauthenticate = () => services.authenticator.authenticateHash(redeemed.secretHash);
  const principal = await reauthenticate();
  info.keyId = principal.keyId;
  await services.rateLimiter.take(principal);
  services.activity.record(principal);
  return createRequestContext(services, principal, { requestId: info.requestId, reauthenticate, streamScope: redeemed.customerId });
}
