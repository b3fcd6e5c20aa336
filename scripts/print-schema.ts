// Writes the printed GraphQL schema to schema.graphql, and its federation subgraph SDL (what
// `_service { sdl }` answers a gateway) to subgraph.graphql (`npm run schema`).
import { writeFileSync } from 'node:fs';
import { printSubgraphSchema } from '@apollo/subgraph';
import { printSchema } from 'graphql';
import { schema, subgraphSchema } from '../src/graphql/schema.js';

writeFileSync(new URL('../schema.graphql', import.meta.url), `${printSchema(schema)}\n`);
writeFileSync(new URL('../subgraph.graphql', import.meta.url), `${printSubgraphSchema(subgraphSchema)}\n`);
console.log('schema.graphql and subgraph.graphql written');
