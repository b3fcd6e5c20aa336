import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver, JSONObjectResolver, JSONResolver, UUIDResolver } from 'graphql-scalars';
import type { RequestContext } from '../domain/request-context.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    JSONObject: { Input: Record<string, unknown>; Output: object };
    UUID: { Input: string; Output: string };
  };
}>({
  // Federation last: it reads the types the others have built (its entities' keys are directives).
  plugins: [PrismaPlugin, RelayPlugin, DirectivePlugin, FederationPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // The relay plugin's own types, fields and arguments, described like the rest of the schema.
    pageInfoTypeOptions: { description: 'Where a page stands in the whole list (Relay cursor connections).' },
    hasNextPageFieldOptions: { description: 'Whether more items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Whether items come before this page.' },
    startCursorFieldOptions: { description: "The first item's cursor; null on an empty page." },
    endCursorFieldOptions: { description: "The last item's cursor (pass it as `after` for the next page); null on an empty page." },
    edgesFieldOptions: { description: 'The items of this page, each with its cursor.' },
    pageInfoFieldOptions: { description: 'Where this page stands, and the cursors to page on.' },
    cursorFieldOptions: { description: "The item's cursor: pass it as `after` (or `before`) to page from here." },
    nodeFieldOptions: { description: 'The item.' },
    firstArgOptions: { description: 'How many items after `after` (forward paging).' },
    afterArgOptions: { description: 'The cursor of the item the page starts after (an `endCursor`).' },
    lastArgOptions: { description: 'How many items before `before` (backward paging).' },
    beforeArgOptions: { description: 'The cursor of the item the page ends before (a `startCursor`).' },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
builder.addScalarType('UUID', UUIDResolver);

builder.queryType({ description: 'What may be read: customers, and the one the key owns.' });
builder.mutationType({ description: 'Changes to customers, their profiles, settings and keys; each one is recorded as an event.' });
builder.subscriptionType({ description: 'Changes as they happen, delivered over WebSocket (graphql-transport-ws), Server-Sent Events (`Accept: text/event-stream`) or multipart HTTP (Apollo\'s `subscriptionSpec=1.0`).' });

/** The argument that names a customer in mutations: "self", a UUID, an id or a name. */
export const customerArgs = builder.args((t) => ({
  customer: t.id({ required: true, defaultValue: 'self', description: '"self", a UUID, an id or a name' }),
}));
