import { GraphQLDeferDirective, GraphQLStreamDirective } from '@graphql-tools/utils';
import { specifiedDirectives } from 'graphql';
import { builder } from './builder.js';
import './customer.js';
import './settings.js';
import './setting-mutations.js';
import './api-key.js';
import './event.js';

/**
 * The schema clients call at /graphql (printed to schema.graphql). `@defer` and `@stream` are part
 * of it (incremental delivery, run by door.ts's defer-stream plugin), so that clients and codegen
 * reading the printed schema know them; they are the plugin's own definitions.
 */
export const schema = builder.toSchema({
  sortSchema: true,
  directives: [...specifiedDirectives, GraphQLDeferDirective, GraphQLStreamDirective],
});

/**
 * The same schema as an Apollo Federation 2 subgraph (printed to subgraph.graphql), served at
 * /subgraph for a gateway: `Customer` is an entity, and `_entities` and `_service` are added.
 * /graphql stays as it is for everyone who calls the service directly.
 */
export const subgraphSchema = builder.toSubGraphSchema({ sortSchema: true, linkUrl: 'https://specs.apollo.dev/federation/v2.6', federationDirectives: ['@key'] });
