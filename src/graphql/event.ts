import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { resolveCustomer } from '../domain/customers/service.js';
import { badRequest } from '../kernel/errors.js';
import { newestEventId, type EventRow } from '../domain/events/read.js';
import { listEvents, resumePoint, subscribeEvents } from '../domain/events/service.js';
import { END_OF_STREAM, mapEvents } from '../domain/events/stream.js';
import { eventResource } from '../resources/event.js';
import { builder } from './builder.js';
import { CustomerRef } from './customer.js';
import { resourceFields } from './resource-fields.js';

export const EventRef = builder.objectRef<EventRow>('Event').implement({
  description: eventResource.description,
  fields: (t) => resourceFields(t, eventResource),
});

const CUSTOMER = '"self", a UUID, an id or a name';
const AFTER = 'The id of the last event already seen: events after it (from the oldest kept when left out).';

builder.objectField(CustomerRef, 'events', (t) =>
  t.connection({
    type: EventRef,
    description: "The customer's events, oldest first (forward paging: `first` and `after`).",
    resolve: (customer, args, ctx) =>
      resolveCursorConnection(
        { args, toCursor: (event) => String(event.id), defaultSize: 100, maxSize: 500 },
        async ({ after, limit, inverted, before }: ResolveCursorConnectionArgs) => {
          if (inverted || before !== undefined) throw badRequest('Events page forwards only: use first and after');
          return listEvents(ctx, { customer: String(customer.id) }, { after: resumePoint(after, undefined), limit: Math.min(limit, 500) });
        },
      ),
  },
  { name: 'EventConnection', description: 'A page of events, oldest first.' },
  { name: 'EventEdge', description: 'An event in a page, with its cursor (the event id).' },
  ),
);

builder.subscriptionFields((t) => ({
  customerEvents: t.field({
    type: EventRef,
    description:
      "The customer's events as they happen, after `after` first (over Server-Sent Events). Resubscribing with the " +
      'id of the last event received misses nothing and repeats nothing.',
    args: {
      customer: t.arg({ type: 'ID', required: true, defaultValue: 'self', description: CUSTOMER }),
      after: t.arg.string({ description: AFTER }),
    },
    subscribe: async (_root, { customer, after }, ctx) =>
      subscribeEvents(ctx, { customer: String(customer) }, resumePoint(after ?? undefined, undefined)),
    resolve: (event) => event,
  }),
  customerChanged: t.field({
    type: CustomerRef,
    description: 'The customer as each change leaves it (over Server-Sent Events); ends when the customer is deleted.',
    args: { customer: t.arg({ type: 'ID', required: true, defaultValue: 'self', description: CUSTOMER }) },
    subscribe: async (_root, { customer }, ctx) => {
      const target = await resolveCustomer(ctx, String(customer));
      // Only what happens from now on: start after the newest event there is.
      const events = await subscribeEvents(ctx, { customer: String(target.id) }, await newestEventId(ctx.sql, target.id));
      return mapEvents(events, async (event) => {
        if (event.type === 'customer.deleted') return END_OF_STREAM;
        // The subscription is one long request: read the customer afresh after each change.
        ctx.loaders.clearAll();
        return resolveCustomer(ctx, String(target.id));
      });
    },
    resolve: (customer) => customer,
  }),
}));
