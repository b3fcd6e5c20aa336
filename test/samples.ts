import {
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { z } from 'zod';
import type { Metrics } from '../src/http/metrics.js';
import { createRoutes, type Route } from '../src/rest/routes.js';
import type { Services } from '../src/boot/services.js';

/**
 * The router's own route table (src/rest/routes.ts), read without an app: the handlers close over
 * the services but use them only when called, which these tests never do through this copy. A
 * stand-in for the metrics keeps `/metrics` in the list.
 */
export function routeTable(): Route[] {
  return createRoutes({ services: {} as Services, metrics: {} as Metrics, openApi: () => ({}) });
}

export const pathParams = (route: Pick<Route, 'path'>) => [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

/** A path from a template, each parameter URI-encoded. */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (params[name] === undefined) throw new Error(`No value for the path parameter {${name}} of ${template}`);
    return encodeURIComponent(params[name]);
  });
}

let unique = 0;
/** A fresh label, valid as a customer name and as a key name. */
export const uniqueLabel = (prefix = 'sample') => `${prefix}-${process.pid}-${++unique}`;

type JsonSchema = Record<string, any>;

/**
 * A valid instance of a JSON Schema, as small as it can be: the first example when the schema
 * gives one, required properties only (the first `oneOf` branch's too), minimum numbers, fresh
 * unique strings. "Any JSON" (no type) is 5: the only supported setting takes an integer, and
 * every route's sample is checked against its own zod schema (authz-matrix "samples" test).
 */
export function sampleOf(schema: JsonSchema, root: JsonSchema = schema): unknown {
  if (schema.$ref) {
    const name = String(schema.$ref).split('/').at(-1)!;
    return sampleOf(root.$defs?.[name] ?? {}, root);
  }
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.anyOf) return sampleOf(schema.anyOf[0], root);
  switch (schema.type) {
    case 'object': {
      const required = new Set<string>([...(schema.required ?? []), ...(schema.oneOf?.[0]?.required ?? [])]);
      return Object.fromEntries([...required].map((name) => [name, sampleOf(schema.properties?.[name] ?? {}, root)]));
    }
    case 'array':
      return [];
    case 'string':
      return uniqueLabel();
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return 5;
  }
}

/** A valid body for a route that takes one (built from its own zod schema), else undefined. */
export function sampleBody(route: Route): Record<string, unknown> | undefined {
  if (!route.body) return undefined;
  return sampleOf(z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) as JsonSchema) as Record<string, unknown>;
}

// ---- GraphQL ----------------------------------------------------------------------------------

export interface RootField {
  operation: 'query' | 'mutation';
  name: string;
  field: GraphQLField<unknown, unknown>;
  /** The argument that names a customer (`id` or `customer`, of type ID), when there is one. */
  customerArg?: GraphQLArgument;
}

/** Every query and mutation field of the schema. */
export function rootFields(schema: GraphQLSchema): RootField[] {
  const out: RootField[] = [];
  for (const [operation, type] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const customerArg = field.args.find((arg) => ['id', 'customer'].includes(arg.name) && getNamedType(arg.type).name === 'ID');
      out.push({ operation, name: field.name, field, customerArg });
    }
  }
  return out;
}

/**
 * A sample value of an input type: scalars by type, input objects with their required fields
 * (strings in them fresh and unique, e.g. a new customer's name).
 */
export function sampleInput(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleInput(type.ofType);
  if (isListType(type)) return [];
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
        .map((f) => [f.name, sampleInput(f.type)]),
    );
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
      case 'Float':
        return 5;
      case 'Boolean':
        return true;
      case 'JSON':
        return 5;
      case 'JSONObject':
        return { sample: true };
      case 'UUID':
        return '00000000-0000-4000-8000-000000000000';
      default:
        return uniqueLabel();
    }
  }
  return getNamedType(type).name === 'String' ? uniqueLabel() : null;
}

/**
 * One operation calling one root field with the given arguments as variables (an argument left
 * out takes its default), selecting `__typename` only.
 */
export function operationFor(root: RootField, args: Record<string, unknown>): { query: string; variables: Record<string, unknown> } {
  const given = root.field.args.filter((arg) => args[arg.name] !== undefined);
  const declarations = given.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(', ');
  const passed = given.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const query = `${root.operation}${declarations ? ` Op(${declarations})` : ''} { ${root.name}${passed ? `(${passed})` : ''} { __typename } }`;
  return { query, variables: Object.fromEntries(given.map((arg) => [arg.name, args[arg.name]])) };
}
