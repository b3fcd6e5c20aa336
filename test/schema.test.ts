import { readFileSync } from 'node:fs';
import {
  type GraphQLEnumType,
  type GraphQLObjectType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  printSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSubgraphSchema } from '@apollo/subgraph';
import { schema, subgraphSchema } from '../src/graphql/schema.js';

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema` after changing a type)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(schema)}\n`);
  });
});

describe('subgraph.graphql', () => {
  it('is the printed federation subgraph SDL (run `npm run schema` after changing a type)', () => {
    const committed = readFileSync(new URL('../subgraph.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSubgraphSchema(subgraphSchema)}\n`);
  });

  it('is the public schema with Customer an entity keyed by uuid and by id, and nothing else changed', () => {
    const sdl = printSubgraphSchema(subgraphSchema);
    expect(sdl).toMatch(/type Customer\s+@key\(fields: "uuid"\)\s+@key\(fields: "id"\)/);
    // The public schema knows nothing of federation.
    expect(printSchema(schema)).not.toMatch(/_entities|_service|@key|@link/);
    const fields = (s: typeof schema) => Object.keys(s.getQueryType()!.getFields()).sort();
    expect(fields(subgraphSchema)).toEqual([...fields(schema), '_entities', '_service'].sort());
  });
});

describe('the schema explains itself', () => {
  it('describes every type, field, argument, input field and enum value', () => {
    const missing: string[] = [];
    const need = (what: string, description: string | null | undefined) => {
      if (!description?.trim()) missing.push(what);
    };
    for (const type of Object.values(schema.getTypeMap())) {
      // graphql-js's own introspection types and scalars (String, Int, …) come described.
      if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
      need(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          need(`${type.name}.${field.name}`, field.description);
          for (const arg of field.args) need(`${type.name}.${field.name}(${arg.name})`, arg.description);
        }
      } else if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) need(`${type.name}.${field.name}`, field.description);
      } else if (isEnumType(type)) {
        for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
      } else if (isScalarType(type)) {
        // graphql-scalars' scalars carry their own descriptions; this holds them to it.
      }
    }
    for (const directive of schema.getDirectives()) {
      for (const arg of directive.args) need(`@${directive.name}(${arg.name})`, arg.description);
    }
    expect(missing).toEqual([]);
  });

  it('types ApiKey.type and Event.type as described enums, and names its connections', () => {
    const fieldType = (type: string, field: string) => String((schema.getType(type) as GraphQLObjectType).getFields()[field]!.type);
    const values = (name: string) => (schema.getType(name) as GraphQLEnumType).getValues().map((v) => [v.name, v.value]);
    expect(fieldType('ApiKey', 'type')).toBe('ApiKeyType!');
    expect(values('ApiKeyType')).toEqual([
      ['customer', 'customer'],
      ['system', 'system'],
    ]);
    // GraphQL names cannot hold the `.` of REST's values: `_` stands for it, and resolvers see REST's value.
    expect(fieldType('Event', 'type')).toBe('EventType!');
    expect(values('EventType')).toContainEqual(['customer_created', 'customer.created']);
    expect(values('EventType')).toHaveLength(8);
    expect(fieldType('Query', 'customers')).toBe('CustomerConnection!');
    expect(fieldType('CustomerConnection', 'totalCount')).toBe('Int!');
    expect(fieldType('CustomerConnection', 'edges')).toBe('[CustomerEdge!]!');
    expect(fieldType('Customer', 'events')).toBe('EventConnection!');
    expect(fieldType('EventConnection', 'edges')).toBe('[EventEdge!]!');
  });
});
